"""Test-time rotation averaging of the CoMIRs: does it make held-out pairs more alike, and easier to register?

In the ablations chapter: `tta.json` (both datasets), `amp_eval.json` (`--arms plain` on the bfloat16 runs of CoMIR's network),
`amp_eval_c4.json` (`--arms plain c4` on the same runs) and `small_eval.json` (the `small` network), all in results/ablations/.

The networks are trained with CoMIR's C4 scheme: each input is turned by a random multiple of 90 degrees and its output
turned back before the loss. At inference, `comir()` runs the network once. Here each patch is also run turned by 90,
180 and 270 degrees, and the four outputs, turned back, are averaged (the map is then exactly C4-equivariant). No
training: the same checkpoints, the same held-out evaluation pairs as their study.

For each cell (a run directory of a finished study, with its `grid.json` one folder up from `runs/`), the script
measures, once with one pass (`plain`) and once with the four-pass average (`c4`):
- the held-out cross-modal Pearson r of the float CoMIRs (as the study's `comir_r`);
- success (corner error <= 2 % of the width) of each back-end on the 8-bit CoMIRs, pair by pair.

Usage: python ablations/tta.py RUN_DIR [RUN_DIR ...] [--methods ssd sift] [--out results/ablations/tta.json]
RUN_DIR is e.g. runs/isl-confocal/runs/isl-f1-s0-none-mse (the study folder is RUN_DIR/../..).
"""
import argparse, dataclasses, json, sys, time
from pathlib import Path
import numpy as np

from corepreg.evaluate import evaluate
from corepreg.infer import Representer
from corepreg.study import StudyGrid, comir_correlation, eval_set
from cell_runs import load_runs, save_run

ROTATIONS = {'plain': 1, 'c4': 4}     # c4: the package's rotation average (`comir_turned`)


def measure(run_dir:Path, methods, workers:int, arms=tuple(ROTATIONS)) -> dict:
    study = run_dir.parent.parent
    grid = StudyGrid.from_json(study/'grid.json')
    cfg = json.loads((run_dir/'config.json').read_text())
    dataset, fold = grid.datasets[0], cfg['data']['fold']
    records = eval_set(grid, dataset, fold)
    out = {'run_dir': str(run_dir), 'dataset': dataset, 'fold': fold, 'pairs': len(records)}
    for arm in arms:
        rep, t0 = Representer(run_dir, rotations=ROTATIONS[arm]), time.time()
        recs = [dataclasses.replace(r, fixed=rep(r.fixed, 'A'), moving=rep(r.moving, 'B')) for r in records]
        res = {'represent_seconds': round(time.time() - t0, 1), 'r': round(comir_correlation(rep, records), 4)}
        for m in methods:
            df = evaluate(recs, m, progress=False, workers=workers)
            res[m] = {'success': round(float(df.success.mean()), 4), 'per_pair': df.success.astype(int).tolist()}
        out[arm] = res
        print(run_dir.name, arm, {k: (v['success'] if isinstance(v, dict) else v) for k, v in res.items()}, flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('run_dirs', nargs='+', type=Path)
    p.add_argument('--methods', nargs='+', default=['ssd', 'sift'])
    p.add_argument('--workers', type=int, default=1)
    p.add_argument('--out', default='results/ablations/tta.json')
    p.add_argument('--arms', nargs='+', choices=list(ROTATIONS), default=list(ROTATIONS), help='plain: one pass; c4: the four-turn average')
    a = p.parse_args(argv)
    out = Path(a.out)
    runs = load_runs(out)
    for d in a.run_dirs:     # each cell is written as soon as it is measured
        t0 = time.time()
        runs = save_run(out, runs, measure(d, a.methods, a.workers, a.arms), 'tta.py', argv, t0, lambda r: r['run_dir'] == str(d))
    return 0


if __name__ == '__main__':
    sys.exit(main())
