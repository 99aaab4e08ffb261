"""Summarise results/ablations/amp_eval.json (`tta.py --arms plain` on the CPU-trained bfloat16 runs of CoMIR's
network, `amp_quality.py`; or another file of such runs, e.g. `small_eval.json` for the `small` network,
whose columns are then still headed `cpu`): per fold, its held-out r and success against the H200's float32 run of the same cell
(`results/uwloci-comir-gpu`) and seed 0 of the `tiny` network (`results/uwloci-rgb-sup`), pair by pair on the same
held-out pairs; then, over the folds measured, McNemar's exact test and a bootstrap CI over the held-out cores
(`evaluate.cluster_bootstrap_ci`) of the difference from the GPU run. `--arm c4` puts the four-turn average of the CPU
run in place of its one pass; where a file holds both arms (`tta.py --arms plain c4`), a third table sets them
against each other, pair by pair on the same networks.

Usage: python ablations/amp_eval_summary.py [results/ablations/amp_eval.json] [--methods ssd fftmi sift] [--arm plain|c4]
"""
import argparse, json
from pathlib import Path
import numpy as np
import pandas as pd
from corepreg.evaluate import cluster_bootstrap_ci, mcnemar_exact

ROOT = Path(__file__).resolve().parents[1]
OTHERS = {'gpu': 'uwloci-comir-gpu', 'tiny': 'uwloci-rgb-sup'}     # the reference cells: seed 0's plain CoMIR of each fold


def reference(study:str, fold:int, method:str) -> pd.DataFrame:
    "Per-pair records (name, success) of the plain seed-0 cell of `fold` in results/<study>."
    rec = pd.read_csv(ROOT/'results'/study/'records'/f'folder-f{fold}-s0-none-mse.csv')
    return rec[rec.method == method].reset_index(drop=True)


def r_of(study:str, fold:int) -> float:
    res = pd.read_csv(ROOT/'results'/study/'results.csv')
    return float(res[(res.representation == 'comir') & (res.supervision == 'none') & (res.seed == 0) & (res.fold == fold)].comir_r.mean())


def raw_success(fold:int, method:str) -> float:
    res = pd.read_csv(ROOT/'results'/OTHERS['gpu']/'results.csv')
    return float(res[(res.representation == 'raw') & (res.fold == fold) & (res.method == method)].success_rate.iloc[0])


def per_fold(runs:list, methods, arm:str='plain') -> tuple[pd.DataFrame, pd.DataFrame]:
    "One row per fold (r and success of the CPU run's `arm` and of each reference), and the pairs (fold, core, cpu, gpu; plain and c4 where the run has both) of each method."
    rows, pairs = [], []
    for run in sorted(runs, key=lambda r: r['fold']):
        f = run['fold']
        row = {'fold': f, 'pairs': run['pairs'], 'r cpu': run[arm]['r'], **{f'r {k}': r_of(s, f) for k, s in OTHERS.items()}}
        for m in methods:
            cpu = np.array(run[arm][m]['per_pair'])
            ref = {k: reference(s, f, m) for k, s in OTHERS.items()}
            assert all(len(d) == len(cpu) for d in ref.values()), f"fold {f}, {m}: the runs hold different numbers of pairs"
            gpu, tiny = (ref[k].success.astype(int).to_numpy() for k in ('gpu', 'tiny'))
            row.update({f'{m} cpu': cpu.mean(), f'{m} gpu': gpu.mean(), f'{m} tiny': tiny.mean(),
                        f'{m} only cpu/gpu': f"{int((cpu > gpu).sum())} / {int((gpu > cpu).sum())}",
                        f'{m} only cpu/tiny': f"{int((cpu > tiny).sum())} / {int((tiny > cpu).sum())}"})
            if m == 'fftmi': row['raw fftmi'] = raw_success(f, 'fftmi')
            both = {k: run[k][m]['per_pair'] for k in ('plain', 'c4')} if 'c4' in run else {}    # for c4_against_plain
            pairs.append(pd.DataFrame({'method': m, 'fold': f, 'core': ref['gpu'].name, 'cpu': cpu, 'gpu': gpu, **both}))
        rows.append(row)
    return pd.DataFrame(rows), pd.concat(pairs, ignore_index=True)


def paired(d:pd.DataFrame, x:str, y:str) -> dict:
    "Success of column `x` against `y` over the pairs `d`: both means, the difference with its CI over held-out cores, the discordant pairs, McNemar's p."
    diff, core = d[x] - d[y], d.fold.astype(str) + '/' + d.core
    lo, hi = cluster_bootstrap_ci(diff, core)
    a, b = int((d[x] > d[y]).sum()), int((d[y] > d[x]).sum())
    return {'pairs': len(d), x: d[x].mean(), y: d[y].mean(), 'difference': diff.mean(), 'ci_low': lo, 'ci_high': hi,
            f'only_{x}': a, f'only_{y}': b, 'p_mcnemar': mcnemar_exact(a, b)}


def against_gpu(pairs:pd.DataFrame) -> pd.DataFrame:
    "CPU − GPU success over every fold measured, with the CI over held-out cores and McNemar's p."
    return pd.DataFrame([{'method': m, **paired(d, 'cpu', 'gpu')} for m, d in pairs.groupby('method', sort=False)])


def c4_against_plain(pairs:pd.DataFrame) -> pd.DataFrame:
    "Where a run holds both arms: the four-turn average (c4) against one pass (plain) of the same networks, pair by pair."
    both = pairs.dropna(subset=['c4'])
    df = pd.DataFrame([{'method': m, **paired(d, 'c4', 'plain')} for m, d in both.groupby('method', sort=False)])
    return df[['method', 'pairs', 'plain', 'c4', *df.columns[4:]]]      # one pass first, as in RESULTS.md


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('path', nargs='?', default=str(ROOT/'results'/'ablations'/'amp_eval.json'))
    p.add_argument('--methods', nargs='+', default=['ssd', 'fftmi', 'sift'])
    p.add_argument('--arm', default='plain', help="the CPU run's arm: plain (one pass), or c4 (tta.py's four-turn average) where measured")
    a = p.parse_args(argv)
    runs = json.loads(Path(a.path).read_text())['runs']
    folds, pairs = per_fold(runs, a.methods, a.arm)
    with pd.option_context('display.width', 250, 'display.max_columns', 50, 'display.precision', 3):
        print(folds.set_index('fold').T.to_string(), '\n')
        print(against_gpu(pairs).to_string(index=False))
        if 'c4' in pairs: print('\nc4 against plain, same networks:\n' + c4_against_plain(pairs).to_string(index=False))


if __name__ == '__main__':
    main()
