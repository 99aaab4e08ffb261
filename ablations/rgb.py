"""The bright-field as RGB: does network B seeing colour make the two CoMIRs of held-out cores more alike?

It trains outside `train()`, with the package's own pieces (`DenseUNet`, `comir_loss`, `make_optimiser`, `lr_at`,
`PatchDataset` with its colour jitter, bfloat16 autocast), so that it can feed network B an RGB image aligned by its own
SIFT fit (`colour.aligned_colour`, each channel / 255) rather than `align_colour`'s 8-bit files: the numbers in
`rgb.json` were measured this way before the package took colour (`corepreg study --colour-b` does it since),
and the package's `PatchDataset` and `make_eval_set` draw exactly the patches and records that this script's own copies
drew then (checked item by item). The arms are identical but for network B's input:

- `grey`: B = `comparison/truth` (normalised as `source_pairs` does), one input channel: the `standard` preset's data;
- `rgb`: B = the raw `Input/HE_512` brought into the truth's frame by `colour.aligned_colour` (a SIFT similarity
  fit, monomodal), each channel / 255, three input channels;
- `rgb-jitter`: as `rgb`, with colour augmentation: each channel of each B patch raised to its own power
  exp(U(-0.2, 0.2)) (stain strength and hue vary between the cores' staining batches); `rgb-mild`: the same at 0.05.

Each arm trains the `standard` recipe in bfloat16 (`tiny`, 128-px patches, batches of 2 groups of 4 overlapping patches,
AdamW 1e-3, 100 warm-up steps, cosine decay, activation decay l2 = 0.1, MSE critic, tau 0.5, C4 turns; 1 300 steps) on one
fold's training cores and is judged on the other fold's cores only, on the same 40 evaluation pairs as
`recipe.py` (`make_eval_set(test, 256, seed=fold)`; a colour moving patch is warped channel by channel):
held-out r (also after blurs of 1, 2, 4 px), training-core r, and `ssd` / `sift` success on the 8-bit CoMIRs.

`--align W` adds the loss's alignment term (`LossConfig.align`: W·(1 − Pearson r) of each positive pair's two maps).

Usage: python ablations/rgb.py [--arms grey,rgb] [--folds 1] [--steps 1300] [--model tiny] [--patch 128] [--align 0] [--out results/ablations/rgb.json]
"""
import argparse, dataclasses, json, os, platform, sys, time
from pathlib import Path
from types import SimpleNamespace
import numpy as np, torch

HERE = Path(__file__).resolve().parent
from colour import aligned_colour
from recipe import BASE, smoothed_r
from corepreg.core import save_json
from corepreg.data import make_eval_set
from corepreg.datasets import source_pairs
from corepreg.evaluate import evaluate
from corepreg.images import Pair, n_channels
from corepreg.infer import Representer
from corepreg.losses import LossConfig, comir_loss
from corepreg.models import MODEL_PRESETS, DenseUNet
from corepreg.patches import PatchDataset
from corepreg.study import comir_correlation, git_commit
from corepreg.train import OptimConfig, _Autocast, lr_at, make_optimiser


class Nets(dict):
    "The two networks as `Representer` wants them: `models['A'].net`."
    def __init__(self, na, nb): super().__init__(A=SimpleNamespace(net=na.eval()), B=SimpleNamespace(net=nb.eval()))


COLOUR_JITTER = {'rgb-jitter': 0.2, 'rgb-mild': 0.05}   # per-channel powers exp(U(-s, s)): x0.82-1.22 / x0.95-1.05 stain optical density


def colour_b(pairs, arm):
    "The pairs for `arm`: B the grey truth, or the aligned RGB bright-field / 255 (H, W, 3)."
    if arm == 'grey': return list(pairs)
    return [Pair(p.a, (aligned_colour(p.name)[1] / 255).astype(np.float32), p.name) for p in pairs]


def train_arm(pairs, steps, seed=0, batch=8, colour=0.0, model='tiny', patch=128, align=0.0):
    torch.manual_seed(seed)
    na = DenseUNet(MODEL_PRESETS[model])
    nb = DenseUNet(dataclasses.replace(MODEL_PRESETS[model], in_channels=n_channels(pairs[0].b)))
    opt = OptimConfig(optimizer='adamw', lr=1e-3, warmup=100, schedule='cosine', weight_decay=1e-4, steps=steps)
    opts = [make_optimiser(opt, n.parameters()) for n in (na, nb)]
    na, nb = (n.to(memory_format=torch.channels_last).train() for n in (na, nb))
    fa, fb = _Autocast(na, 'cpu'), _Autocast(nb, 'cpu')
    ds = PatchDataset(pairs, patch=patch, length=10**12, seed=seed, group=4, spread=32, colour=colour)
    gen, loss_cfg, losses = torch.Generator().manual_seed(seed), LossConfig(decay_l2=0.1, align=align), []
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


def run(arm, fold, steps, model='tiny', patch=128, align=0.0):
    cfg = BASE.replace(fold=fold, patch=128)
    train, test = source_pairs(cfg.data, 'train'), source_pairs(cfg.data, 'test')
    assert not {p.name for p in test} & {p.name for p in train}
    tr, te = colour_b(train, arm), colour_b(test, arm)
    t0 = time.time(); na, nb, loss = train_arm(tr, steps, colour=COLOUR_JITTER.get(arm, 0.0), model=model, patch=patch, align=align); train_wall = time.time() - t0
    rep = Representer(models=Nets(na, nb))
    records = make_eval_set(te, patch=256, seed=fold)                       # a colour B is warped channel by channel
    train_records = make_eval_set(tr, patch=256, levels=(1,), seed=0)
    comirs = [dataclasses.replace(r, fixed=rep(r.fixed, 'A'), moving=rep(r.moving, 'B')) for r in records]
    out = {'arm': arm, 'fold': fold, 'steps': steps, 'model': model, 'patch': patch, 'align': align, 'train_minutes': round(train_wall / 60, 2), 'final_loss': round(loss, 4),
           'n_pairs': len(records), 'held_out_r': round(comir_correlation(rep, records), 4),
           'held_out_r_smoothed': smoothed_r(rep, records), 'train_r': round(comir_correlation(rep, train_records), 4)}
    for m in ('ssd', 'sift'):
        out[f'success_{m}'] = round(float(evaluate(comirs, m, progress=False).success.mean()), 4)
    return out


def run_key(r:dict) -> tuple:
    "What tells runs apart: the arm, fold, steps and the levers (earlier files lack the later levers: their defaults)."
    return r['arm'], r['fold'], r['steps'], r.get('model', 'tiny'), r.get('patch', 128), r.get('align', 0.0)


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--arms', default='grey,rgb'); ap.add_argument('--folds', default='1')
    ap.add_argument('--steps', type=int, default=1300); ap.add_argument('--model', default='tiny', choices=sorted(MODEL_PRESETS))
    ap.add_argument('--patch', type=int, default=128, help='training patch size (the evaluation patches stay 256 px)'); ap.add_argument('--out', default=str(HERE.parent/'results'/'ablations'/'rgb.json'))
    ap.add_argument('--align', type=float, default=0.0, help="weight of the loss's alignment term (LossConfig.align)")
    a = ap.parse_args()
    out = Path(a.out)
    res = json.loads(out.read_text()) if out.exists() else {'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}", 'runs': []}
    done = {run_key(r) for r in res['runs']}
    for fold in (int(f) for f in a.folds.split(',')):
        for arm in a.arms.split(','):
            if run_key(dict(arm=arm, fold=fold, steps=a.steps, model=a.model, patch=a.patch, align=a.align)) in done: continue
            r = run(arm, fold, a.steps, a.model, a.patch, a.align); r['commit'] = git_commit(); r['command'] = 'python ' + ' '.join(sys.argv)
            res['runs'].append(r); save_json(out, res)
            print(json.dumps(r), flush=True)
