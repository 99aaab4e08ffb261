"""Register a study folder's raw-image baselines again and compare them pair by pair with the records the grid wrote: a
check, without training anything, that the input folders a grid resumes on hold the images its cells were made from
(e.g. a colour folder made again by `corepreg align-colour` in a new checkout).

Usage: python tools/replay_raw.py results/uwloci-comir-sup [--methods fftmi] [--folds 1,2] [--tol 1e-9]

For each fold's raw cell it rebuilds the evaluation set from the folder's grid.json (seeded by the fold) and registers its
grey pairs with each method; it prints the largest difference of the error and of the found angle and shift from the
records, and how many pairs changed success. `fftmi` is deterministic, so on the same images it agrees to rounding (`--tol`);
`mi` (SimpleITK's optimiser) is not bit-reproducible run to run (up to 1.2 px on a pair of the primary grid), so only its successes are held
to agreement. Exit 0 when every method agrees so, else 1.
"""
import argparse, sys
from pathlib import Path

import numpy as np
import pandas as pd


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('folder', help='a study folder (grid.json, records/)')
    p.add_argument('--methods', default='fftmi', help='comma-separated raw methods to replay (fftmi, mi)')
    p.add_argument('--folds', default='', help="comma-separated folds (default: the grid's)")
    p.add_argument('--tol', type=float, default=1e-9, help="largest difference allowed for fftmi")
    a = p.parse_args(argv)
    from corepreg.study import StudyGrid, eval_set
    from corepreg.data import grey_records
    from corepreg.evaluate import evaluate
    out = Path(a.folder); grid = StudyGrid.from_json(out/'grid.json')
    folds = [int(f) for f in a.folds.split(',')] if a.folds else list(grid.folds)
    ok = True
    for ds in grid.datasets:
        for fold in folds:
            path = out/'records'/f'{ds}-f{fold}-raw.csv'
            if not path.exists(): print(f"{path}: no records (the raw cell has not run)"); ok = False; continue
            old, recs = pd.read_csv(path), grey_records(eval_set(grid, ds, fold))
            for m in a.methods.split(','):
                o = old[old.method == m].reset_index(drop=True)
                df = evaluate(recs, m, progress=False).reset_index(drop=True)
                if len(df) != len(o): print(f"{ds} fold {fold} {m}: {len(df)} pairs now, {len(o)} recorded"); ok = False; continue
                diff = {c: float(np.nanmax(np.abs(df[c].astype(float).to_numpy() - o[c].astype(float).to_numpy())))
                        for c in ('error', 'angle', 'tx', 'ty', 'true_angle', 'true_tx', 'true_ty')}
                flips = int((df.success.astype(bool).to_numpy() != o.success.astype(bool).to_numpy()).sum())
                agree = flips == 0 and (m != 'fftmi' or max(diff.values()) <= a.tol)
                ok &= agree
                print(f"{ds} fold {fold} {m}: {len(df)} pairs; largest difference " + ', '.join(f"{k} {v:.2g}" for k, v in diff.items())
                      + f"; {flips} changed success: {'agrees' if agree else 'DIFFERS'}", flush=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
