"""How far could a perfect representation take a monomodal back-end on these pairs?

The study registers network A's CoMIR of the fixed patch against network B's CoMIR of the moving patch (cross-modal).
If the two CoMIRs were one image, the back-end would face a monomodal pair; this script measures that case directly, on
the same held-out pairs, with the same back-ends and success criterion (corner error <= 2 % of the width):

- `cross`: the study's arm, A's CoMIR against B's (the script checks that it reproduces the study's per-pair records);
- `comir_aa` / `comir_bb`: one network's CoMIR of the fixed patch against the same network's CoMIR of the moving patch
  (the record's `moving_a` / `fixed_b`: the other modality seen through the same transform);
- `raw_aa` / `raw_bb`: the raw images of one modality against themselves (grey, as the raw baselines register them).

`comir_*` bounds what better cross-modal agreement could give with these networks; `raw_*` what the pairs themselves
allow a monomodal back-end (the data's ceiling at these transform levels). The raw arms depend only on the fold, so they
are measured once per fold. No training: the cells' own checkpoints, the study's own evaluation pairs.

With `--fold N` the cells register fold N's pairs instead (arm `cross` only, with their per-pair residuals): for a cell
of the other fold these are images its networks trained on. A diagnostic, not a result: if networks that trained on an
image miss its pairs by the same shift as networks that never saw it, the shift lies in the image pair.

Usage: python ablations/ceiling.py RUN_DIR [RUN_DIR ...] [--methods ssd sift] [--workers 2] [--fold N]
RUN_DIR is e.g. runs/isl-confocal-sup/runs/isl-f1-s0-none-mse (the study folder is RUN_DIR/../..).
"""
import argparse, dataclasses, json, sys, time
from pathlib import Path
import numpy as np, pandas as pd

from corepreg.data import grey_records
from corepreg.evaluate import evaluate, residual_shift
from corepreg.infer import Representer
from corepreg.study import StudyGrid, eval_set
from cell_runs import load_runs, save_run


def arms(records:list, rep:Representer, raw:bool, cross_only:bool=False) -> dict:
    "The pairs of each arm: the same records with the patches each arm registers."
    out = {'cross': [dataclasses.replace(r, fixed=rep(r.fixed, 'A'), moving=rep(r.moving, 'B')) for r in records]}
    if cross_only: return out
    out |= {'comir_aa': [dataclasses.replace(r, fixed=rep(r.fixed, 'A'), moving=rep(r.moving_a, 'A')) for r in records],
            'comir_bb': [dataclasses.replace(r, fixed=rep(r.fixed_b, 'B'), moving=rep(r.moving, 'B')) for r in records]}
    if raw:
        grey = grey_records(records)
        out['raw_aa'] = [dataclasses.replace(r, moving=r.moving_a) for r in grey]
        out['raw_bb'] = [dataclasses.replace(r, fixed=r.fixed_b) for r in grey]
    return out


def check_cross(run_dir:Path, method:str, success:list):
    "The `cross` arm is the study's: its per-pair success equals the study's records for this cell."
    study = run_dir.parent.parent
    rec = pd.read_csv(study/'records'/f'{run_dir.name}.csv')
    theirs = rec[rec.method == method].sort_values('pair').success.astype(int).tolist()
    if theirs != success:
        raise SystemExit(f"{run_dir.name} {method}: the cross arm does not reproduce {study/'records'/run_dir.name}.csv")


def measure(run_dir:Path, methods, workers:int, raw:bool, pairs_fold:int|None=None) -> dict:
    grid = StudyGrid.from_json(run_dir.parent.parent/'grid.json')
    cfg = json.loads((run_dir/'config.json').read_text())
    dataset, fold = grid.datasets[0], cfg['data']['fold']
    own = pairs_fold in (None, fold)
    records = eval_set(grid, dataset, fold if own else pairs_fold)
    out = {'run_dir': str(run_dir), 'dataset': dataset, 'fold': fold, 'pairs_fold': fold if own else pairs_fold,
           'pairs': len(records), 'names': [r.name for r in records], 'levels': [r.level for r in records]}
    rep = Representer(run_dir, rotations=grid.rotations)
    for arm, recs in arms(records, rep, raw and own, cross_only=not own).items():
        out[arm] = {}
        for m in methods:
            df = evaluate(recs, m, progress=False, workers=workers)
            success = df.success.astype(int).tolist()
            if arm == 'cross' and own: check_cross(run_dir, m, success)
            out[arm][m] = {'success': round(float(np.mean(success)), 4), 'per_pair': success}
            if not own: out[arm][m]['residual'] = residual_shift(df)[['dx', 'dy', 'dangle']].round(3).values.tolist()
        print(run_dir.name, arm, {m: v['success'] for m, v in out[arm].items()}, flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('run_dirs', nargs='+', type=Path)
    p.add_argument('--methods', nargs='+', default=['ssd', 'sift'])
    p.add_argument('--workers', type=int, default=1)
    p.add_argument('--fold', type=int, default=None, help="register this fold's pairs instead of the cell's own (diagnostic)")
    p.add_argument('--out', default='results/ablations/ceiling.json')
    a = p.parse_args(argv)
    out = Path(a.out)
    runs = load_runs(out)
    for d in a.run_dirs:     # each cell is written as soon as it is measured
        t0 = time.time()
        fold = json.loads((d/'config.json').read_text())['data']['fold']
        pairs_fold = a.fold or fold
        same = lambda r: r['run_dir'] == str(d) and r.get('pairs_fold', r['fold']) == pairs_fold
        raw = not any((str(Path(r['run_dir']).parent.parent), r['fold']) == (str(d.parent.parent), fold) and 'raw_aa' in r
                      for r in runs if not same(r))
        runs = save_run(out, runs, measure(d, a.methods, a.workers, raw, pairs_fold), 'ceiling.py', argv, t0, same)
    return 0


if __name__ == '__main__':
    sys.exit(main())
