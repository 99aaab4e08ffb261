"""Calibrating `confidence` on the study's evaluation pairs, where the truth is known.

For each fold of the colour-bright-field study (`results/uwloci-rgb-sup5`): its 120 evaluation pairs (rebuilt by `eval_set`,
checked against the committed records' true transforms), each back-end's recorded estimate on the CoMIRs of one network per
variant (`--seed`), and on the raw pairs (grey, as the study's baselines register them; the study ran only `mi` and `fftmi`
on raw pairs, so `ssd` and `sift` are run here). For every estimate: success (corner error ≤ 2 % of the width, not failed)
and `confidence_parts`. The chapter picks the score and its threshold on fold 1 and reports them on fold 2.

Writes results/ablations/confidence.csv (one row per registration) and confidence.json (how it was made).

Usage: python ablations/confidence.py [--study results/uwloci-rgb-sup5] [--runs runs/uwloci-rgb-sup5/runs] [--seed 4]
"""
import argparse, dataclasses, json, os, platform, subprocess, time
from pathlib import Path
import numpy as np
import pandas as pd

from corepreg.core import atomic_write, save_json
from corepreg.data import grey_records
from corepreg.evaluate import corner_error, SUCCESS_THRESHOLD
from corepreg.infer import Representer
from corepreg.register import confidence_parts, register
from corepreg.study import StudyGrid, eval_set
from corepreg.transforms import RigidTransform

HERE = Path(__file__).resolve().parent
METHODS = ('fftmi', 'ssd', 'mi', 'sift')


def rows_for(records, recs, images, cell, fold, fresh=()):
    "One row per (pair, method): the recorded (or, for `fresh` methods, a new) estimate, its success and its confidence parts."
    out = []
    for method in METHODS:
        mine = recs[recs.method == method].sort_values('pair')
        if method in fresh: mine = None
        elif len(mine) != len(records): continue
        for i, (r, (f, m)) in enumerate(zip(records, images)):
            if mine is None: est = register(f, m, method)
            else:
                row = mine.iloc[i]
                assert abs(row.true_angle - r.transform.angle) < 1e-6 and row['name'] == r.name, (cell, i)   # the same pair
                est = RigidTransform.about_centre(row.angle, row.tx, row.ty, f.shape)
            failed = bool(est.failed) if mine is None else bool(row.failed)
            err = corner_error(r.transform, est, f.shape)
            out.append({'cell': cell, 'fold': fold, 'images': 'raw' if cell.endswith('raw') else 'comir', 'method': method, 'pair': i,
                        'name': r.name, 'level': r.level, 'error': err, 'failed': failed,
                        'success': bool(err <= SUCCESS_THRESHOLD * f.shape[1] and not failed),
                        **({} if failed else confidence_parts(f, m, est))})
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--study', default='results/uwloci-rgb-sup5')
    ap.add_argument('--runs', default='runs/uwloci-rgb-sup5/runs')
    ap.add_argument('--seed', type=int, default=4)
    ap.add_argument('--folds', default='', help='comma-separated folds (default: the grid\'s); one process per fold, then --merge')
    ap.add_argument('--merge', default='', help='comma-separated CSVs of single folds to merge into --out (no registering)')
    ap.add_argument('--out', default=str(HERE.parent/'results'/'ablations'/'confidence.csv'))
    a = ap.parse_args()
    t0, study = time.time(), Path(a.study)
    grid = StudyGrid.from_dict(json.loads((study/'grid.json').read_text()), str(study/'grid.json'))
    rows = [r for f in a.merge.split(',') if f for r in pd.read_csv(f).to_dict('records')]
    for fold in ([] if a.merge else [int(f) for f in a.folds.split(',')] if a.folds else grid.folds):
        records = eval_set(grid, 'folder', fold)
        grey = grey_records(records)
        cell = f'folder-f{fold}-raw'
        rows += rows_for(grey, pd.read_csv(study/'records'/f'{cell}.csv'), [(r.fixed, r.moving) for r in grey], cell, fold, fresh=('ssd', 'sift'))
        print(cell, len(rows), f'{time.time() - t0:.0f} s', flush=True)
        for variant in grid.supervision:
            cell = f'folder-f{fold}-s{a.seed}-{variant}-mse'
            rep = Representer(Path(a.runs)/cell, rotations=grid.rotations)
            rows += rows_for(records, pd.read_csv(study/'records'/f'{cell}.csv'), [(rep(r.fixed, 'A'), rep(r.moving, 'B')) for r in records], cell, fold)
            print(cell, len(rows), f'{time.time() - t0:.0f} s', flush=True)
    atomic_write(a.out, pd.DataFrame(rows).to_csv(index=False))
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
    save_json(Path(a.out).with_suffix('.json'), {'command': f'python ablations/confidence.py --study {a.study} --runs {a.runs} --seed {a.seed}'
              + (' (one process per fold with --folds, then --merge)' if a.merge else ''),
              'commit': commit, 'machine': f"{platform.machine()}, {os.cpu_count()} cores", 'wall_s': round(max(
              [time.time() - t0] + [json.loads(Path(f).with_suffix('.json').read_text())['wall_s'] for f in a.merge.split(',') if f]), 1),
              'rows': len(rows), 'file': Path(a.out).name})
