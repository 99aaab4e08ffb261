"""Network B fed three channels (`--colour-b`) against one, pair by pair: the plain CoMIR of two study folders compared.

Three channels: the bright-field in colour (`--data folder`) or the ISL tiles' three confocal channels (`--data isl`);
one: the grey bright-field or NFH alone. Both folders must have evaluated the same held-out pairs (same cores, patches, levels and true transforms: checked, pair
by pair), e.g. `results/uwloci-rgb` (`--colour-b`) against the grey grids `results/uwloci-grid` (fold 1) and
`results/uwloci-f2` (fold 2), or `results/isl-confocal` against `results/isl-grid` and `results/isl-standard-f2`. Only the
(fold, seed) runs that both folders hold are compared pair by pair; held-out r is over all of colour's
runs and over grey's compared ones. Per back-end: the success of each, their difference with a 95 % cluster-bootstrap CI
(held-out cores and training seeds resampled, as the study's comparisons do), the discordant pairs, McNemar's exact p
and Holm's correction over the back-ends (`corepreg.evaluate.paired_comparisons`, with colour as the "variant" and grey
as the "baseline"). Held-out r of the two CoMIRs, mean over seeds, per fold, from each folder's results.

Usage: python tools/colour_vs_grey.py --colour results/uwloci-rgb --grey results/uwloci-grid results/uwloci-f2
       python tools/colour_vs_grey.py --colour results/isl-confocal results/isl-confocal-f2 --grey results/isl-grid results/isl-standard-f2
           [--out results/uwloci-rgb/colour_vs_grey.csv]
"""
import argparse, json, sys
from pathlib import Path
import numpy as np, pandas as pd

from corepreg.core import atomic_open, save_json
from corepreg.evaluate import paired_comparisons
from corepreg.study import all_records, git_commit, read_results


def plain(folders) -> pd.DataFrame:
    "The plain CoMIR's per-pair records (supervision none, MSE critic) of one or more study folders."
    recs = pd.concat([all_records(Path(f)) for f in folders], ignore_index=True)
    return recs[(recs.representation == 'comir') & (recs.supervision == 'none') & (recs.critic == 'mse')]


def compare(colour:pd.DataFrame, grey:pd.DataFrame) -> pd.DataFrame:
    "paired_comparisons of colour ('variant') against grey ('baseline'), after checking that both hold the same pairs."
    key = ['seed', 'fold', 'method', 'pair']
    m = colour.merge(grey, on=key, suffixes=('', '_g'))
    if len(m) != len(colour) or len(m) != len(grey):
        raise SystemExit(f"the folders do not hold the same pairs: {len(colour)} colour, {len(grey)} grey, {len(m)} in common")
    for f in ('name', 'level', 'true_angle', 'true_tx', 'true_ty'):
        same = np.isclose(m[f], m[f + '_g']) if pd.api.types.is_numeric_dtype(m[f]) else (m[f] == m[f + '_g'])
        if not same.all(): raise SystemExit(f"pairs differ in {f}: e.g. {m.loc[~same, ['fold', 'pair', f, f + '_g']].head(3).to_dict('records')}")
    both = pd.concat([colour.assign(supervision='colour'), grey.assign(supervision='grey')], ignore_index=True)
    return paired_comparisons(both.assign(critic='mse'), baseline='grey')


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--colour', nargs='+', required=True); p.add_argument('--grey', nargs='+', required=True)
    p.add_argument('--out', help='CSV of the comparisons (default: COLOUR/colour_vs_grey.csv)')
    a = p.parse_args(argv)
    colour, grey = plain(a.colour), plain(a.grey)
    in_runs = lambda d, runs: d[d.set_index(['fold', 'seed']).index.isin(list(runs))]
    mine = set(zip(colour.fold, colour.seed))
    shared = mine & set(zip(grey.fold, grey.seed))   # the (fold, seed) runs that both folders have: the pairs compared
    cmp = compare(in_runs(colour, shared), in_runs(grey, shared))
    out = Path(a.out or Path(a.colour[0])/'colour_vs_grey.csv')
    with atomic_open(out, 'w', newline='') as f: cmp.to_csv(f, index=False)
    r = {}
    for name, folders in (('colour', a.colour), ('grey', a.grey)):
        res = pd.concat([read_results(Path(f)) for f in folders], ignore_index=True)
        res = res[(res.representation == 'comir') & (res.supervision == 'none') & (res.critic == 'mse')]
        res = in_runs(res, mine if name == 'colour' else shared)   # colour: all its seeds
        r[name] = {int(k): round(float(v), 4) for k, v in res.drop_duplicates('cell_id').groupby('fold').comir_r.mean().items()}
    save_json(out.with_suffix('.json'), {'command': 'python tools/colour_vs_grey.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
                                         'commit': git_commit(), 'held_out_r': r, 'seeds': sorted(int(s) for s in colour.seed.unique()),
                                         'compared': sorted([int(f), int(s)] for f, s in shared),
                                         'folds': sorted(int(f) for f in colour.fold.unique())})
    cols = ['method', 'success_variant', 'success_baseline', 'difference', 'ci_low', 'ci_high', 'only_variant', 'only_baseline', 'p_holm', 'verdict', 'n_pairs']
    print(cmp[cols].rename(columns={'success_variant': 'colour', 'success_baseline': 'grey'}).round(3).to_string(index=False))
    print('held-out r (mean over seeds, per fold):', r)
    return 0


if __name__ == '__main__':
    sys.exit(main())
