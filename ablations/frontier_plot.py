"""Held-out r and success against training minutes on the 2-core CPU, for the three networks of the family.

One point per trained cell, each measured on its fold's 120 held-out pairs of the shared SHG / bright-field cores
(network B in colour, the `standard` recipe, MSE critic, no bottleneck supervision):
- `tiny`, 1 300 steps in float32 (the `standard` preset): the plain cells of `results/uwloci-rgb`, 3 seeds a fold;
- `small`, 2 250 steps under bfloat16: `small_quality.json` (training) and `small_eval.json` (evaluation);
- CoMIR's network, 2 250 steps under bfloat16: `amp_quality.json` and `amp_eval.json`.

Minutes are each cell's wall time of training. The dashed lines are the recipe budget (10 minutes a cell) and targets
(r 0.85; `ssd` / `sift` 0.90).

Usage: python ablations/frontier_plot.py [--out results/ablations/frontier.png]
"""
import argparse, json
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT/'results'/'ablations'
RUNS = {'small': ('small_quality.json', 'small_eval.json'),
        'comir': ('amp_quality.json', 'amp_eval.json')}


def tiny_points() -> pd.DataFrame:
    "The plain cells of results/uwloci-rgb: one row per cell, its r, training minutes and success of each back-end."
    res = pd.read_csv(ROOT/'results'/'uwloci-rgb'/'results.csv')
    res = res[(res.representation == 'comir') & (res.supervision == 'none')]
    wide = res.pivot_table(index=['fold', 'seed'], columns='method', values='success_rate').reset_index()
    first = res.groupby(['fold', 'seed'])[['comir_r', 'train_seconds']].first().reset_index()
    out = wide.merge(first, on=['fold', 'seed'])
    return out.assign(network='tiny', steps=1300, minutes=out.train_seconds / 60, r=out.comir_r)


def bench_points(network:str) -> pd.DataFrame:
    "The CPU runs of `network` that trained a whole 2 250-step schedule, joined to their one-pass evaluation."
    train_file, eval_file = RUNS[network]
    trained = {r['fold']: r for r in json.loads((BENCH/train_file).read_text())['runs']
               if r['arm'] == 'bf16' and r.get('model', 'comir') == network and r['stopped_at'] == r['total_steps'] == 2250}
    rows = []
    for ev in json.loads((BENCH/eval_file).read_text())['runs']:
        tr = trained[ev['fold']]
        rows.append({'network': network, 'fold': ev['fold'], 'seed': 0, 'steps': 2250, 'minutes': tr['wall_minutes'],
                     'r': ev['plain']['r'], **{m: v['success'] for m, v in ev['plain'].items() if isinstance(v, dict)}})
    return pd.DataFrame(rows)


def points() -> pd.DataFrame:
    return pd.concat([tiny_points(), *(bench_points(n) for n in RUNS)], ignore_index=True)


def plot(df:pd.DataFrame, out:Path):
    import matplotlib, matplotlib.ticker; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharex=True)
    for ax, (col, target, label) in zip(axes, [('r', 0.85, 'held-out r'), ('ssd', 0.90, 'ssd success'), ('sift', 0.90, 'sift success')]):
        for (net, fold), d in df.groupby(['network', 'fold']):
            ax.scatter(d.minutes, d[col], marker='o' if fold == 1 else 's', label=f"{net}, {d.steps.iloc[0]} steps, fold {fold}",
                       color={'tiny': 'C0', 'small': 'C1', 'comir': 'C2'}[net])
        ax.axhline(target, ls='--', c='grey'); ax.axvline(10, ls=':', c='grey')
        ax.set_xscale('log'); ax.set_xticks([5, 10, 20, 40, 80]); ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel('training minutes a cell (2-core CPU)'); ax.set_title(label); ax.set_ylim(0.3, 1.02)
    fig.legend(*axes[0].get_legend_handles_labels(), loc='lower center', ncol=6, fontsize=8)
    fig.suptitle('Held-out SHG / bright-field cores, 120 pairs a fold: what more training buys on a CPU')
    fig.tight_layout(rect=(0, 0.07, 1, 1)); fig.savefig(out, dpi=90)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=str(BENCH/'frontier.png'))
    a = p.parse_args(argv)
    df = points()
    summary = df.groupby('network', sort=False).agg(cells=('r', 'size'), steps=('steps', 'first'), minutes=('minutes', 'median'),
                                                     r=('r', 'mean'), ssd=('ssd', 'mean'), fftmi=('fftmi', 'mean'), sift=('sift', 'mean'))
    with pd.option_context('display.precision', 2): print(summary.to_string())
    plot(df, Path(a.out)); print('wrote', a.out)


if __name__ == '__main__':
    main()
