"""each back-end today (0.2) against its pre-0.2 settings (`corepreg.register.LEGACY`), side by side, pair by pair.

Pairs: the 20 shared SHG cores, a 256-px patch of each at the 4 MultiRegEval levels (80 pairs), monomodal (SHG against
its own transformed copy, as in the issue). Also the held-out CoMIRs of the standard study (SHG / bright-field cores,
each through the fold whose networks never saw it, 80 pairs), so that a speed-up that loses CoMIR pairs shows.
Old and new run one after the other on each pair, so load on the machine hits both alike. Reported: success, the median
seconds of each and the median of the per-pair ratio old / new.

Usage: python benchmarks/bench_backends.py [--runs runs/uwloci-standard/runs] [--out benchmarks/results_backends.json]
"""
import argparse, json, os, platform, subprocess, time
from pathlib import Path
import numpy as np
from corepreg.core import save_json
from corepreg.data import folder_pairs, make_eval_set
from corepreg.evaluate import corner_error
from corepreg.infer import Representer
from corepreg.register import LEGACY, register
from corepreg.datasets import _halves

HERE = Path(__file__).resolve().parent
D = Path(os.environ.get('COREPREG_SHARED_DATA', HERE.parent.parent/'shared'/'data'))/'uwloci-shg-he'
METHODS = ('fftmi', 'sift', 'ssd', 'mi')


def side_by_side(recs, fixed, moving, methods=METHODS):
    "Per method: old and new success, seconds, per-pair ratios."
    out = {}
    for m in methods:
        rows = {'old': [], 'new': []}
        for r, f, mv in zip(recs, fixed, moving):
            for which, opts in (('old', LEGACY[m]), ('new', {})):
                e = register(f, mv, m, **opts)
                err = corner_error(r.transform, e, f.shape)
                rows[which].append((err <= 0.02 * f.shape[1] and not e.failed, e.seconds))
        o, n = np.array(rows['old']), np.array(rows['new'])
        out[m] = {'n': len(recs), 'success_old': float(o[:, 0].mean()), 'success_new': float(n[:, 0].mean()),
                  'median_seconds_old': float(np.median(o[:, 1])), 'median_seconds_new': float(np.median(n[:, 1])),
                  'median_ratio': float(np.median(o[:, 1] / n[:, 1]))}
        print(m, {k: round(v, 3) for k, v in out[m].items()}, flush=True)
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', default='runs/uwloci-standard/runs')
    ap.add_argument('--split-seed', type=int, default=0)
    ap.add_argument('--out', default=str(HERE/'results_backends.json'))
    ap.add_argument('--methods', default=','.join(METHODS), help='rerun only these; the others are kept from --out (with their commit)')
    a = ap.parse_args()
    methods = tuple(a.methods.split(','))
    old = json.loads(Path(a.out).read_text()) if set(methods) != set(METHODS) and Path(a.out).exists() else {}
    t0 = time.time()
    shg = D/'Input'/'SHG_512_not_adjusted'
    recs = make_eval_set(folder_pairs(shg, shg), 256, seed=3)
    res = {'shg_monomodal': side_by_side(recs, [r.fixed for r in recs], [r.moving for r in recs], methods)}
    pairs = folder_pairs(shg, D/'comparison'/'truth')
    first, second = _halves(pairs, a.split_seed)
    comir = {'recs': [], 'fixed': [], 'moving': []}
    for fold, held in ((1, second), (2, first)):   # fold 1 trained on the first half, so it is tested on the second
        rep = Representer(Path(a.runs)/f'folder-f{fold}-s0-none-mse')
        for r in make_eval_set(held, 256, seed=3):
            comir['recs'].append(r); comir['fixed'].append(rep(r.fixed, 'A')); comir['moving'].append(rep(r.moving, 'B'))
    res['comir_heldout'] = side_by_side(comir['recs'], comir['fixed'], comir['moving'], methods)
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
    for block in res:
        for m in res[block]: res[block][m]['commit'] = commit   # each method's rows say which code measured them
        res[block] = {m: (res[block].get(m) or old[block][m]) for m in METHODS if m in res[block] or m in old.get(block, {})}
    save_json(a.out, {**old, 'command': f'python benchmarks/bench_backends.py --runs {a.runs} --split-seed {a.split_seed}', 'commit': commit,
                      'machine': f"{platform.machine()}, {os.cpu_count()} cores", f'wall_s_{a.methods}': round(time.time() - t0, 1), **res})
