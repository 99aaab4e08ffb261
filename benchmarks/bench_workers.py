"""Registration in several processes against one (`evaluate(..., workers=)`), side by side, on the statistics grid's pairs.

A study cell on two CPU cores spends about 40 % of its time registering 120 pairs with four back-ends, one pair after the
other on one core. This times `evaluate` with `workers=1` and `workers=2` on the same pairs, alternating which goes
first, and checks that both give the same successes.

Usage: python benchmarks/bench_workers.py [--run RUN_DIR] [--pairs 24] [--reps 2] [--out benchmarks/results_workers.json]
With `--run` (a trained cell's folder) the pairs are that cell's CoMIRs, as in a study; without it, the raw images.
"""
import argparse, dataclasses, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path

import torch

from corepreg.core import atomic_write
from corepreg.evaluate import evaluate
from corepreg.infer import Representer
from corepreg.study import StudyGrid, eval_set

ROOT = Path(__file__).resolve().parent.parent


def pairs(run:str|None, n:int) -> list:
    "Every (120 // n)-th pair of the cores grid's evaluation set, as CoMIRs of `run` or raw."
    recs = eval_set(StudyGrid.from_json(ROOT/'results'/'uwloci-grid'/'grid.json'), 'folder', 1)
    recs = recs[::max(1, len(recs) // n)][:n]
    if not run: return recs
    rep = Representer(run)
    return [dataclasses.replace(r, fixed=rep(r.fixed, 'A'), moving=rep(r.moving, 'B')) for r in recs]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--run'); p.add_argument('--pairs', type=int, default=24); p.add_argument('--reps', type=int, default=2)
    p.add_argument('--methods', default='fftmi,sift,ssd,mi'); p.add_argument('--out', default=str(ROOT/'benchmarks'/'results_workers.json'))
    a = p.parse_args()
    recs, rows = pairs(a.run, a.pairs), []
    for m in a.methods.split(','):
        t = {1: [], 2: []}; succ = {}
        for rep in range(a.reps):
            for w in ((1, 2) if rep % 2 == 0 else (2, 1)):      # alternate which goes first
                t0 = time.perf_counter(); df = evaluate(recs, m, progress=False, workers=w); t[w].append(time.perf_counter() - t0)
                succ.setdefault(w, df.success.tolist())
        row = {'method': m, 'pairs': len(recs), 'seconds_1': statistics.median(t[1]), 'seconds_2': statistics.median(t[2]),
               'speedup': statistics.median(t[1]) / statistics.median(t[2]), 'same_successes': succ[1] == succ[2], 'all_1': t[1], 'all_2': t[2]}
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items() if not k.startswith('all')}), flush=True)
        rows.append(row)
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    info = {'command': 'python benchmarks/bench_workers.py ' + ' '.join(sys.argv[1:]), 'commit': commit, 'cores': os.cpu_count(),
            'machine': platform.machine(), 'torch': torch.__version__, 'torch_threads': torch.get_num_threads(), 'rows': rows}
    atomic_write(a.out, json.dumps(info, indent=1) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
