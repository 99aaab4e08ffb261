"""Where the cross-modal misses lie: the monomodal ceiling and the residual of each pair, from files on disk.

Reads `results/ablations/ceiling.json` (`ceiling.py`) and a study's per-pair records, and prints the tables
of the ablations chapter:
1. success of each arm of `ceiling.py` (cross-modal CoMIRs, one network's CoMIR against itself, raw against raw);
2. the study's success at looser thresholds than the protocol's 2 % of the width (how near the misses are);
3. per held-out image: the residual of the registrations, T_true⁻¹ ∘ T_found, as the shift it gives the patch centre
   in the fixed frame (`corepreg.evaluate.residual_shift`; median over pairs and back-ends that land within 15 px),
   against `ssd` success; for tiles of one field (ISL) the same shifts laid out as the tiles lie;
4. with `--fold` runs in the JSON: the same per image for networks that trained on it, beside those that held it out.

Usage: python ablations/ceiling_summary.py [--study results/isl-confocal-sup] [--cells none]
"""
import argparse, json, sys
from pathlib import Path
import numpy as np, pandas as pd

from corepreg.evaluate import residual_shift, spearman_ci

ARMS = ('cross', 'comir_aa', 'comir_bb', 'raw_aa', 'raw_bb')


def ceiling_table(path:Path) -> pd.DataFrame:
    "Success per cell and arm, from ceiling.json (raw arms: once per fold)."
    rows = []
    for r in json.loads(path.read_text())['runs']:
        if r.get('pairs_fold', r['fold']) != r['fold']: continue   # --fold runs: see seen_table
        for arm in ARMS:
            for m, v in r.get(arm, {}).items():
                rows.append({'cell': Path(r['run_dir']).name, 'study': Path(r['run_dir']).parent.parent.name, 'fold': r['fold'],
                             'arm': arm, 'method': m, 'success': v['success'], 'pairs': len(v['per_pair'])})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--study', type=Path, default=Path('results/isl-confocal-sup'))
    p.add_argument('--cells', default='none', help='supervision variant(s) whose cells to read, comma-separated')
    p.add_argument('--ceiling', type=Path, default=Path('results/ablations/ceiling.json'))
    a = p.parse_args(argv)
    if a.ceiling.exists():
        t = ceiling_table(a.ceiling)
        print(t.pivot_table(index=['study', 'fold', 'method'], columns='arm', values='success')[list(ARMS)].round(2).to_string(), '\n')
    sup = a.cells.split(',')
    files = [f for f in sorted((a.study/'records').glob('*.csv')) if f.stem.split('-')[3:4] and f.stem.split('-')[3] in sup]
    rec = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    width = rec.width.iloc[0]
    print(f"{a.study}: {len(files)} cells ({', '.join(sup)}), {rec[rec.method == 'ssd'].shape[0]} ssd pairs, width {width} px")
    look = pd.DataFrame({f'{t:g} %': rec.assign(ok=rec.error <= t / 100 * width).groupby('method').ok.mean()
                         for t in (2, 3, 4, 5)}).round(2)
    print(look.to_string(), '\n')
    miss = rec[(rec.method == 'ssd') & ~rec.success]
    print(f"ssd misses: {len(miss)}; within 5 px: {(miss.error <= 5).sum()}; median error {miss.error.median():.1f} px\n")
    res = residual_shift(rec[rec.method.isin(['ssd', 'fftmi', 'mi']) & (rec.error < 15)])
    per = res.groupby('name')[['dx', 'dy']].median()
    per['shift'] = np.hypot(per.dx, per.dy)
    per['ssd'] = rec[rec.method == 'ssd'].groupby('name').success.mean()
    by_method = res.groupby(['name', 'method'])[['dx', 'dy']].median().unstack('method')
    per['back-ends agree within'] = [np.hypot(*(by_method.loc[n, c].max() - by_method.loc[n, c].min() for c in ('dx', 'dy'))) for n in per.index]
    print(per.sort_values('ssd').round(2).to_string(), '\n')
    rc = per.index.str.extract(r'-r(\d+)c(\d+)$')
    if rc.notna().all().all():   # tiles of one field (ISL): the shift where each tile lies, and the fold that held it out
        fold = rec.groupby('name').cell_id.first().str.extract(r'-f(\d+)-')[0]
        cells = [f"({per.dx.iloc[i]:+.1f}, {per.dy.iloc[i]:+.1f}) f{fold[n]}" for i, n in enumerate(per.index)]
        print(pd.DataFrame({'row': rc[0].astype(int).values, 'col': rc[1].astype(int).values, 'cell': cells})
              .pivot(index='row', columns='col', values='cell').to_string(), '\n')
    rho = spearman_ci(per['shift'], per['ssd'])
    print('Spearman rho (median shift, ssd success) over images:', {k: round(v, 2) for k, v in rho.items()}, '\n')
    if a.ceiling.exists(): seen_table(json.loads(a.ceiling.read_text())['runs'], rec)
    return 0


def seen_table(runs:list, rec:pd.DataFrame):
    "Per image: the residual and `ssd` success of the networks that held it out against those of `--fold` runs (same seeds), which trained on it."
    other = [r for r in runs if r.get('pairs_fold', r['fold']) != r['fold']]
    rows = [(n, m, *res, s) for r in other for m in ('ssd', 'fftmi') if m in r['cross']
            for n, res, s in zip(r['names'], r['cross'][m]['residual'], r['cross'][m]['per_pair'])]
    if not rows: return
    seen = pd.DataFrame(rows, columns=['name', 'method', 'dx', 'dy', 'dangle', 'success'])
    seeds = sorted({int(Path(r['run_dir']).name.split('-s')[1].split('-')[0]) for r in other})
    held = residual_shift(rec[rec.method.isin(['ssd', 'fftmi']) & rec.cell_id.str.contains('|'.join(f'-s{s}-' for s in seeds))])
    def per(d, err):
        g = d[err].groupby('name')[['dx', 'dy']].median()
        return g.assign(ssd=d[d.method == 'ssd'].groupby('name').success.mean())
    t = per(held, held.error < 15).add_suffix(' held out').join(per(seen, seen.dx.abs() + seen.dy.abs() < 15).add_suffix(' trained on'))
    print(f'networks that held each image out against networks that trained on it (--fold runs), seeds {seeds}, ssd and fftmi:')
    print(t.sort_values('ssd held out').round(2).to_string())
    print('correlation over images, held out vs trained on: dx', round(np.corrcoef(t['dx held out'], t['dx trained on'])[0, 1], 2),
          'dy', round(np.corrcoef(t['dy held out'], t['dy trained on'])[0, 1], 2),
          '; ssd success', round(t['ssd held out'].mean(), 2), '->', round(t['ssd trained on'].mean(), 2))


if __name__ == '__main__':
    sys.exit(main())
