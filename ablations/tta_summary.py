"""Summarise results/ablations/tta.json (tta.py): per dataset, the rotation-averaged CoMIRs (`c4`) against one pass
(`plain`) on the same networks and pairs, pooled over cells: McNemar's exact test on the discordant pairs, and a percentile
bootstrap CI of the difference that resamples the held-out images (tiles or cores, per fold) and the training seeds, as the
study's comparisons do (`evaluate.cluster_bootstrap_ci`).

The image of each pair comes from its cell's per-pair records (`records/<cell>.csv` of the study in RUN_DIR/../..; for a
study run with `--rotations 1`, also `results/<name>/records`): the `c4` arm of a `--rotations 4` study, or the `plain` arm
of a one-pass study, must reproduce those records pair by pair, which is checked.

Usage: python ablations/tta_summary.py [results/ablations/tta.json] [--methods ssd sift fftmi]
"""
import argparse, functools, json
from pathlib import Path
import numpy as np
import pandas as pd
from corepreg.evaluate import cluster_bootstrap_ci, mcnemar_exact

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def records_of(run_dir:str) -> tuple[pd.DataFrame, dict]:
    "The study's per-pair records of the cell in `run_dir` (its runs/ folder, or the same study under results/), and its grid; read once per cell."
    run = Path(run_dir); cell = run.name
    for study in (ROOT/run.parent.parent, ROOT/'results'/run.parent.parent.name):
        if (f := study/'records'/f'{cell}.csv').exists(): return pd.read_csv(f), json.loads((study/'grid.json').read_text())
    raise FileNotFoundError(f"no records/{cell}.csv for {run_dir}")


def pairs(runs:list, method:str) -> pd.DataFrame:
    "One row per pair and cell: dataset, fold, seed, image, and success with one pass and with the rotation average."
    out = []
    for r in runs:
        rec, grid = records_of(r['run_dir'])
        rec = rec[rec.method == method].reset_index(drop=True)
        arm = 'c4' if grid.get('rotations', 1) == 4 else 'plain'       # the arm that the study itself evaluated
        assert rec.success.astype(int).tolist() == r[arm][method]['per_pair'], f"{r['run_dir']}: {arm} does not reproduce the study's {method} records"
        seed = int(Path(r['run_dir']).name.split('-s')[-1].split('-')[0])
        out.append(pd.DataFrame({'dataset': r['dataset'], 'fold': r['fold'], 'seed': seed, 'image': rec.name,
                                 'plain': r['plain'][method]['per_pair'], 'c4': r['c4'][method]['per_pair']}))
    return pd.concat(out, ignore_index=True)


def summary(runs:list, methods) -> pd.DataFrame:
    rows = []
    for m in methods:
        have = [r for r in runs if m in r['plain']]     # the cells measured with this back-end
        if not have: continue
        p = pairs(have, m)
        for ds, d in p.groupby('dataset'):
            diff, image = d.c4 - d.plain, d.fold.astype(str) + '/' + d.image     # an image is held out once per fold
            lo, hi = cluster_bootstrap_ci(diff, image, d.seed)
            rows.append({'dataset': ds, 'method': m, 'cells': d.groupby(['fold', 'seed']).ngroups, 'pairs': len(d),
                         'images': image.nunique(), 'plain': d.plain.mean(), 'c4': d.c4.mean(),
                         'difference': diff.mean(), 'ci_low': lo, 'ci_high': hi, 'only_c4': int(((d.c4 == 1) & (d.plain == 0)).sum()),
                         'only_plain': int(((d.plain == 1) & (d.c4 == 0)).sum())})
            rows[-1]['p_mcnemar'] = mcnemar_exact(rows[-1]['only_c4'], rows[-1]['only_plain'])
    for ds in sorted({r['dataset'] for r in runs}):
        rs = [r for r in runs if r['dataset'] == ds]
        rows.append({'dataset': ds, 'method': 'r (mean over cells)', 'cells': len(rs), 'plain': np.mean([r['plain']['r'] for r in rs]),
                     'c4': np.mean([r['c4']['r'] for r in rs]), 'difference': np.mean([r['c4']['r'] - r['plain']['r'] for r in rs])})
    return pd.DataFrame(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('results', nargs='?', default='results/ablations/tta.json')
    p.add_argument('--methods', nargs='+', default=['ssd', 'sift', 'fftmi'])
    a = p.parse_args(argv)
    s = summary(json.loads(Path(a.results).read_text())['runs'], a.methods)
    with pd.option_context('display.width', 200, 'display.max_columns', 20): print(s.round(3).to_string(index=False))


if __name__ == '__main__': main()
