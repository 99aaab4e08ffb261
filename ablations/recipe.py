"""Ablation: which training recipe makes CoMIRs that a monomodal method registers on held-out real pairs.

Each recipe trains the plain CoMIR (no bottleneck supervision, MSE critic) on one seeded half of the shared SHG /
bright-field cores (fold 1; `--folds 1,2` adds the swap) and is judged on the other half only: 40 evaluation pairs
per fold (10 cores × the 4 MultiRegEval levels, 256-px patches of the 512-px cores, the study's own `eval_set`), with
`ssd` and `sift` on the 8-bit CoMIRs (the first two runs also `fftmi`), and the Pearson r between the two float CoMIRs of each aligned fixed
patch (`study.comir_correlation`, the study's `comir_r`). Results go to `results/ablations/recipe.json` (one entry per recipe and fold, written atomically after each;
a rerun skips the entries it has).

Usage: python ablations/recipe.py [--only NAME,...] [--folds 1] [--out results/ablations/recipe.json]
"""
import argparse, dataclasses, json, os, platform, sys, tempfile, time
from pathlib import Path
import numpy as np, torch
from corepreg.datasets import data_root
from corepreg.core import save_json
from corepreg.data import make_eval_set
from corepreg.evaluate import evaluate
from corepreg.infer import Representer
from corepreg.study import comir_correlation, git_commit
from corepreg.data import source_pairs
from corepreg.train import TrainConfig, read_log, train

HERE = Path(__file__).resolve().parent
SHARED = data_root()/'uwloci-shg-he'
BASE = TrainConfig(model='tiny', amp=False).replace(source='folder', folder_a=str(SHARED/'Input'/'SHG_512_not_adjusted'), folder_b=str(SHARED/'comparison'/'truth'),
                   patch=64, batch=8, checkpoint_every=10**6, val_every=250, val_patches=32)
ADAM = dict(optimizer='adamw', lr=1e-3, warmup=100, schedule='cosine', weight_decay=1e-4)
# float32 unless a recipe says amp=True: every recipe before TrainConfig.amp defaulted to None ran in float32, as the presets do
STANDARD = dict(steps=1300, patch=128, channels_last=True, decay_l2=0.1, group=4, spread=32, **ADAM)   # = TRAIN_PRESETS['standard']
# name → (changes to BASE, what the lever is)
RECIPES = {
    'sgd':        (dict(steps=1500), "the quick preset's recipe, 1 500 steps: SGD 0.01, tiny, 64 px, batch 8"),
    'adamw':      (dict(steps=1500, **ADAM), 'AdamW 1e-3, 100 warm-up steps, cosine decay'),
    'adamw-minmax': (dict(steps=1500, norm='minmax', **ADAM), 'as adamw, min–max scaling instead of the automatic log'),
    'adamw-l2':   (dict(steps=1500, decay_l2=0.1, **ADAM), "as adamw, MultiRegEval's activation decay l2 = 0.1"),
    'adamw-b16':  (dict(steps=1500, batch=16, **ADAM), 'as adamw, batch 16 (30 negatives per anchor)'),
    'adamw-3k':   (dict(steps=3000, **ADAM), 'as adamw, 3 000 steps'),
    'adamw-tau':  (dict(steps=1500, tau=0.1, **ADAM), 'as adamw, τ = 0.1'),
    'tiny-128':   (dict(steps=800, patch=128, channels_last=True, **ADAM), 'as adamw, 128-px patches, 800 steps'),
    'small-96':   (dict(steps=600, model='small', patch=96, channels_last=True, **ADAM), "as adamw, the 'small' network, 96-px patches, 600 steps"),
    'l2-128':     (dict(steps=800, patch=128, channels_last=True, decay_l2=0.1, **ADAM), 'as tiny-128, activation decay l2 = 0.1'),
    'l2x10-128':  (dict(steps=800, patch=128, channels_last=True, decay_l2=1.0, **ADAM), 'as tiny-128, activation decay l2 = 1'),
    'l2-128-int': (dict(steps=800, patch=128, channels_last=True, decay_l2=0.1, intensity_aug=0.5, **ADAM), 'as l2-128, random gamma / contrast / brightness per modality (0.5)'),
    'l2-128-g4':  (dict(steps=800, patch=128, channels_last=True, decay_l2=0.1, group=4, spread=32, **ADAM), 'as l2-128, each batch = 2 groups of 4 overlapping patches (within 32 px): hard negatives'),
    'adamw-lr3':  (dict(steps=1500, **{**ADAM, 'lr': 3e-3}), 'as adamw, learning rate 3e-3'),
    # a temperature per critic for the grid's l1 and cosine cells, on the standard recipe (l2-128-g4, 1 300 steps).
    # Our l1 critic averages |x - y| over the flattened map, CoMIR's sums it over the height (x 128 on 128-px patches), so
    # tau = 0.5 / 128 gives our l1 the reference's logits; cosine is bounded, so tau alone sets its softmax's sharpness.
    'std-mse':    (dict(STANDARD), 'the standard preset (MSE, tau 0.5), the reference for the rows below'),
    'std-l1':     (dict(STANDARD, critic='l1'), 'standard, L1 critic, tau 0.5 (our scale)'),
    'std-l1-ref': (dict(STANDARD, critic='l1', tau=0.5 / 128), "standard, L1 critic, tau 0.5/128 (CoMIR's logits on 128-px patches)"),
    'std-cos':    (dict(STANDARD, critic='cosine'), 'standard, cosine critic, tau 0.5'),
    'std-cos-t01': (dict(STANDARD, critic='cosine', tau=0.1), 'standard, cosine critic, tau 0.1'),
    # does the MSE recipe gain from a sharper softmax too (cosine did: ssd 0.72 -> 0.97 from tau 0.5 to 0.1)?
    'std-mse-t01': (dict(STANDARD, tau=0.1), 'standard (MSE), tau 0.1'),
    # more negatives per anchor at the same compute (batch 16 = 4 groups of 4, half the steps)
    'std-b16':    (dict(STANDARD, batch=16, steps=650), 'standard (MSE), batch 16 (4 groups of 4), 650 steps: the same patches seen'),
    # a larger network than tiny in the same 10 minutes, made possible by bfloat16 on a CPU with AMX tiles
    # ('small': 16 filters, growth 8, 4 down blocks of 3 layers, an 8x8 bottleneck on 128-px patches)
    'std-small-bf16': (dict(STANDARD, model='small', amp=True, steps=800), "standard, the 'small' network in bfloat16 (AMX), 800 steps"),
    'std-bf16':   (dict(STANDARD, amp=True), 'the standard preset in bfloat16 (AMX): the control that separates bf16 from the network'),
    'std-comir-bf16': (dict(STANDARD, model='comir', amp=True, steps=330), "standard, CoMIR's own network in bfloat16 (AMX), the 330 steps that 10 minutes buy"),
    # levers aimed at the cross-modal r itself, each against the std-bf16 control (tiny, bfloat16)
    'std-bf16-t2': (dict(STANDARD, amp=True, tau=2.0), 'std-bf16 with tau 2: a softer softmax that keeps pulling positives together after the batch is told apart'),
    'std-bf16-g8': (dict(STANDARD, amp=True, group=8), 'std-bf16 with each batch one neighbourhood of 8 overlapping patches: every negative a shifted view of the same tissue'),
    'std-bf16-centred': (dict(STANDARD, amp=True, centre=True), "std-bf16 with each map's per-channel mean taken out before the critic (LossConfig.centre): no telling patches apart by brightness"),
    'std-bf16-pearson': (dict(STANDARD, amp=True, centre=True, critic='cosine', tau=0.1), 'std-bf16 with the cosine critic on centred maps, tau 0.1: the critic is the Pearson r of the two maps'),
    'std-small-bf16-2x': (dict(STANDARD, model='small', amp=True, steps=1600), "as std-small-bf16, twice the steps (1 600, about 20 minutes): do more steps help the larger network?"),
}


def smoothed_r(rep, records, sigmas=(1, 2, 4)) -> dict:
    """Held-out r after a Gaussian blur of both float CoMIRs (sigma in px), one value per sigma: if r climbs steeply with
    sigma, the two maps agree on coarse structure and differ in fine detail (texture, or a few pixels of misregistration)."""
    from scipy import ndimage
    seen, rs = set(), {s: [] for s in sigmas}
    for r in records:
        key = (r.name, r.meta.get('offset'))
        if key in seen or r.fixed_b is None: continue
        seen.add(key)
        a, b = rep.unquantised(r.fixed, 'A'), rep.unquantised(r.fixed_b, 'B')
        for s in sigmas:
            sa, sb = (ndimage.gaussian_filter(x, (0, s, s) if x.ndim == 3 else s) for x in (a, b))
            rs[s].append(np.corrcoef(sa.ravel(), sb.ravel())[0, 1])
    return {str(s): round(float(np.mean(v)), 4) for s, v in rs.items()}


def run(name, fold, methods=('ssd', 'sift')):
    changes, lever = RECIPES[name]
    cfg = BASE.replace(fold=fold, **changes)
    test = source_pairs(cfg.data, 'test')
    assert not {p.name for p in test} & {p.name for p in source_pairs(cfg.data, 'train')}
    records = make_eval_set(test, patch=256, seed=fold)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.time(); s = train(cfg, d, progress=False); train_wall = time.time() - t0
        log = read_log(d)
        rep = Representer(d)
        t1 = time.time()
        comirs = [dataclasses.replace(r, fixed=rep(r.fixed, 'A'), moving=rep(r.moving, 'B')) for r in records]
        out = {'recipe': name, 'lever': lever, 'fold': fold, 'config': {k: v for k, v in cfg.to_dict().items() if k != 'data'} | {'data': {k: v for k, v in cfg.data.to_dict().items() if not k.startswith('folder')}},
               'train_minutes': round(train_wall / 60, 2), 'n_pairs': len(records), 'held_out_r': round(comir_correlation(rep, records), 4),
               'val': [{k: r[k] for k in ('step', 'val_r', 'val_top1')} for r in log if 'val_r' in r],
               'final_loss': s['loss'], 'train_r': round(comir_correlation(rep, make_eval_set(source_pairs(cfg.data, 'train'), patch=256, levels=(1,), seed=0)), 4)}
        out['held_out_r_smoothed'] = smoothed_r(rep, records)
        for m in methods:
            df = evaluate(comirs, m, progress=False)
            out[f'success_{m}'] = round(float(df.success.mean()), 4)
        out['eval_minutes'] = round((time.time() - t1) / 60, 2)
    return out


def table(res) -> str:
    "The ablation as a markdown table, one row per recipe and fold, in the order run."
    f = lambda r, k: f"{r[k]:.2f}" if k in r else '–'
    rows = ['| recipe | lever | fold | steps | train min | held-out r | training-core r | `ssd` | `sift` | `fftmi` | last val r / top-1 |',
            '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for r in res['runs']:
        v = r['val'][-1] if r['val'] else {}
        rows.append(f"| {r['recipe']} | {r['lever']} | {r['fold']} | {r['config'].get('steps') or r['config']['optim']['steps']} | {r['train_minutes']:.1f} | {r['held_out_r']:.2f} | "
                    f"{f(r, 'train_r')} | {f(r, 'success_ssd')} | {f(r, 'success_sift')} | {f(r, 'success_fftmi')} | "
                    f"{v.get('val_r', float('nan')):.2f} / {v.get('val_top1', float('nan')):.2f} |")
    return '\n'.join(rows)


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', help='comma-separated recipe names (default: all)')
    ap.add_argument('--folds', default='1')
    ap.add_argument('--out', default=str(HERE.parent/'results'/'ablations'/'recipe.json'))
    ap.add_argument('--table', action='store_true', help='print the markdown table of the results file and stop')
    a = ap.parse_args()
    out = Path(a.out)
    if a.table:
        print(table(json.loads(out.read_text()))); sys.exit()
    res = json.loads(out.read_text()) if out.exists() else {'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}", 'runs': []}
    done = {(r['recipe'], r['fold']) for r in res['runs']}
    for name in (a.only.split(',') if a.only else RECIPES):
        for fold in (int(f) for f in a.folds.split(',')):
            if (name, fold) in done: continue
            r = run(name, fold); r['commit'] = git_commit(); r['command'] = 'python ' + ' '.join(sys.argv)
            res['runs'].append(r); save_json(out, res)
            print(json.dumps({k: v for k, v in r.items() if k not in ('config', 'val')}), flush=True)
