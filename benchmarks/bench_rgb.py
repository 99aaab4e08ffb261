"""The bright-field as RGB (issue 13): does network B seeing colour make the two CoMIRs of held-out cores more alike?

The package's pairs are 2-D (modality B is the grey `comparison/truth`), so this script trains outside `train()` with
the package's own pieces: `DenseUNet`, `comir_loss`, `make_optimiser`, `lr_at`, `PatchDataset`'s sampling and
augmentation, bfloat16 autocast. Two arms, side by side, identical but for network B's input:

- `grey`: B = `comparison/truth` (normalised as `source_pairs` does), one input channel: the `standard` preset's data;
- `rgb`: B = the raw `Input/HE_512` brought into the truth's frame by `bench_colour.aligned_colour` (a SIFT similarity
  fit, monomodal), each channel / 255, three input channels;
- `rgb-jitter`: as `rgb`, with colour augmentation: each channel of each B patch raised to its own power
  exp(U(-0.2, 0.2)) (stain strength and hue vary between the cores' staining batches); `rgb-mild`: the same at 0.05.

Each arm trains the `standard` recipe in bfloat16 (`tiny`, 128-px patches, batches of 2 groups of 4 overlapping patches,
AdamW 1e-3, 100 warm-up steps, cosine decay, activation decay l2 = 0.1, MSE critic, tau 0.5, C4 turns; 1 300 steps) on one
fold's training cores and is judged on the other fold's cores only, on the same 40 evaluation pairs as
`bench_recipe.py` (`make_eval_set(test, 256, seed=fold)`; the RGB moving patch is warped by each record's own transform):
held-out r (also after blurs of 1, 2, 4 px), training-core r, and `ssd` / `sift` success on the 8-bit CoMIRs.

Usage: python benchmarks/bench_rgb.py [--arms grey,rgb] [--folds 1] [--steps 1300] [--out benchmarks/results_rgb.json]
"""
import argparse, dataclasses, json, math, os, platform, sys, time
from pathlib import Path
from types import SimpleNamespace
import numpy as np, torch
from scipy import ndimage

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_colour import aligned_colour
from bench_recipe import BASE, smoothed_r
from corepreg.core import save_json
from corepreg.data import _crop_warp, make_eval_set
from corepreg.datasets import source_pairs
from corepreg.evaluate import evaluate
from corepreg.infer import to_uint8
from corepreg.losses import LossConfig, comir_loss
from corepreg.models import MODEL_PRESETS, DenseUNet
from corepreg.patches import PatchDataset
from corepreg.study import comir_correlation, git_commit
from corepreg.train import OptimConfig, _Autocast, lr_at, make_optimiser


class ChannelPatches(PatchDataset):
    """`PatchDataset` for pairs whose B is (H, W, C): the same crops, groups, turns, flips and blurs (each channel blurred
    on its own); item i → (A (1, n, n), B (C, n, n)). A pair here is any object with `a`, `b`, `name` and `shape`.
    `colour` > 0: each of B's channels raised to its own power exp(U(-colour, colour)), a change of stain strength and
    hue per patch (a per-channel scaling of optical density, -log b)."""
    def __init__(self, *args, colour:float=0.0, **kw): super().__init__(*args, **kw); self.colour = colour

    def __getitem__(self, i:int):
        rng = np.random.default_rng([self.seed, i])
        p, near = self.pairs[rng.integers(len(self.pairs))], None
        if self.group > 1:
            g = np.random.default_rng([self.seed, i // self.group, 1])
            p, near = self.pairs[g.integers(len(self.pairs))], (g.random(), g.random())
        n = self.patch
        big = min(min(p.shape), int(math.ceil(n * math.sqrt(2))) + 2)
        a, b = self._crop(rng, p, big, near)
        angle = rng.uniform(-180, 180)
        a, b = (ndimage.rotate(im, angle, axes=(1, 0), reshape=False, order=1, mode='reflect') for im in (a, b))
        o = (big - n) // 2
        a, b = a[o:o+n, o:o+n], b[o:o+n, o:o+n]
        if rng.random() < 0.5: a, b = a[:, ::-1], b[:, ::-1]
        if rng.random() < 0.5:
            s = rng.uniform(0, 2)
            a, b = ndimage.gaussian_filter(a, s), ndimage.gaussian_filter(b, (s, s, 0))
        if self.colour > 0: b = np.clip(b, 0, 1) ** np.exp(rng.uniform(-self.colour, self.colour, b.shape[2]))
        return (torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None],
                torch.from_numpy(np.ascontiguousarray(b.transpose(2, 0, 1), dtype=np.float32)))


class Rep:
    "The `Representer` interface (`unquantised`, and the 8-bit CoMIR by calling) for two networks; B may take (H, W, C)."
    def __init__(self, na, nb): self.nets = {'A': na.eval(), 'B': nb.eval()}
    def unquantised(self, image, modality):
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
        x = x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None]
        with torch.no_grad(): return self.nets[modality](x).float()[0, 0].numpy()
    def __call__(self, image, modality): return to_uint8(self.unquantised(image, modality)).astype(np.float32) / 255


COLOUR_JITTER = {'rgb-jitter': 0.2, 'rgb-mild': 0.05}   # per-channel powers exp(U(-s, s)): x0.82-1.22 / x0.95-1.05 stain optical density


def colour_b(pairs, arm):
    "The pairs with B as (H, W, C): the grey truth as one channel, or the aligned RGB bright-field / 255."
    out = []
    for p in pairs:
        b = p.b[..., None] if arm == 'grey' else aligned_colour(p.name)[1] / 255
        out.append(SimpleNamespace(a=p.a, b=b.astype(np.float32), name=p.name, shape=p.shape))
    return out


def records_for(records, pairs, arm):
    "`make_eval_set`'s records with B as (H, W, C) for `arm`: the RGB warped by each record's own transform."
    if arm == 'grey': return [dataclasses.replace(r, moving=r.moving[..., None], fixed_b=r.fixed_b[..., None]) for r in records]
    b = {p.name: p.b for p in pairs}
    out = []
    for r in records:
        (oy, ox), n = r.meta['offset'], r.fixed.shape[0]
        rgb = b[r.name]
        moving = np.stack([_crop_warp(rgb[..., c], r.transform, oy, ox, n) for c in range(rgb.shape[2])], -1)
        out.append(dataclasses.replace(r, moving=moving, fixed_b=rgb[oy:oy+n, ox:ox+n].copy()))
    return out


def train_arm(pairs, steps, seed=0, batch=8, colour=0.0):
    torch.manual_seed(seed)
    na = DenseUNet(MODEL_PRESETS['tiny'])
    nb = DenseUNet(dataclasses.replace(MODEL_PRESETS['tiny'], in_channels=pairs[0].b.shape[2]))
    opt = OptimConfig(optimizer='adamw', lr=1e-3, warmup=100, schedule='cosine', weight_decay=1e-4, steps=steps)
    opts = [make_optimiser(opt, n.parameters()) for n in (na, nb)]
    na, nb = (n.to(memory_format=torch.channels_last).train() for n in (na, nb))
    fa, fb = _Autocast(na, 'cpu'), _Autocast(nb, 'cpu')
    ds = ChannelPatches(pairs, patch=128, length=10**12, seed=seed, group=4, spread=32, colour=colour)
    gen, loss_cfg, losses = torch.Generator().manual_seed(seed), LossConfig(decay_l2=0.1), []
    for step in range(steps):
        xa, xb = (torch.stack(t).to(memory_format=torch.channels_last) for t in zip(*[ds[i] for i in range(step * batch, (step + 1) * batch)]))
        total, parts = comir_loss(fa, fb, xa, xb, loss_cfg, generator=gen)
        for o in opts: o.zero_grad(set_to_none=True)
        total.backward()
        for n in (na, nb): torch.nn.utils.clip_grad_norm_(n.parameters(), opt.clip)
        for o in opts:
            for g in o.param_groups: g['lr'] = lr_at(opt, step)
            o.step()
        losses.append(float(parts['total']))
        if (step + 1) % 100 == 0: print(f'  step {step + 1}: loss {np.mean(losses[-100:]):.4f}', flush=True)
    return na, nb, float(np.mean(losses[-50:]))


def run(arm, fold, steps):
    cfg = BASE.replace(fold=fold, patch=128)
    train, test = source_pairs(cfg.data, 'train'), source_pairs(cfg.data, 'test')
    assert not {p.name for p in test} & {p.name for p in train}
    tr, te = colour_b(train, arm), colour_b(test, arm)
    t0 = time.time(); na, nb, loss = train_arm(tr, steps, colour=COLOUR_JITTER.get(arm, 0.0)); train_wall = time.time() - t0
    rep = Rep(na, nb)
    records = records_for(make_eval_set(test, patch=256, seed=fold), te, arm)
    train_records = records_for(make_eval_set(train, patch=256, levels=(1,), seed=0), tr, arm)
    comirs = [dataclasses.replace(r, fixed=rep(r.fixed, 'A'), moving=rep(r.moving, 'B')) for r in records]
    out = {'arm': arm, 'fold': fold, 'steps': steps, 'train_minutes': round(train_wall / 60, 2), 'final_loss': round(loss, 4),
           'n_pairs': len(records), 'held_out_r': round(comir_correlation(rep, records), 4),
           'held_out_r_smoothed': smoothed_r(rep, records), 'train_r': round(comir_correlation(rep, train_records), 4)}
    for m in ('ssd', 'sift'):
        out[f'success_{m}'] = round(float(evaluate(comirs, m, progress=False).success.mean()), 4)
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--arms', default='grey,rgb'); ap.add_argument('--folds', default='1')
    ap.add_argument('--steps', type=int, default=1300); ap.add_argument('--out', default=str(HERE/'results_rgb.json'))
    a = ap.parse_args()
    out = Path(a.out)
    res = json.loads(out.read_text()) if out.exists() else {'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}", 'runs': []}
    done = {(r['arm'], r['fold'], r['steps']) for r in res['runs']}
    for fold in (int(f) for f in a.folds.split(',')):
        for arm in a.arms.split(','):
            if (arm, fold, a.steps) in done: continue
            r = run(arm, fold, a.steps); r['commit'] = git_commit(); r['command'] = 'python ' + ' '.join(sys.argv)
            res['runs'].append(r); save_json(out, res)
            print(json.dumps(r), flush=True)
