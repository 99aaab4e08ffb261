"""The numbers the README and the home page quote must be the ones in `results/` that real runs wrote.

The key table is rebuilt here from the results files with plain pandas, row by row, and each of its rows must
appear verbatim in README.md and in nbs/index.ipynb; `command.json` must name the command and a clean commit.
"""
import functools
import json
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from corepreg.study import paper_agreement

# (label, results folder, dataset) in the order the key table lists them
ROWS = [('SHG / bright-field cores (`results/uwloci`)', 'uwloci', 'folder'),
        ('immunohistochemistry (`results/quick`)', 'quick', 'ihc'),
        ('synthetic pairs (`results/quick`)', 'quick', 'synthetic')]
VARIANTS = ('none', 'pooled', 'projected', 'dense')


def page_text(page:str) -> str:
    "The text of README.md, or the sources of a notebook's cells joined."
    text = (ROOT/page).read_text()
    return '\n'.join(''.join(c['source']) for c in json.loads(text)['cells']) if page.endswith('.ipynb') else text


def assert_quotes(page:str, phrases:list[str], source:str):
    "Every phrase (rebuilt from `source` in results/) appears in the page, whitespace-normalised."
    text = ' '.join(page_text(page).split())
    for phrase in phrases:
        assert phrase in text, f"{page} does not quote this number, rebuilt from results/{source}: {phrase}"


def signed(v) -> str: return f"{v:+.2f}".replace('-', '−')       # as the pages print it, with a typographic minus
def span(v) -> str: return f"{v.min():.2f}–{v.max():.2f}"
def with_ci(v, lo, hi) -> str: return f"{signed(v)} [{signed(lo)}, {signed(hi)}]"


def rank_rho(comir:pd.DataFrame, method:str) -> dict:
    "Spearman ρ (with CI and p) across a grid's cells between the bottleneck's effective rank and `method`'s success."
    from corepreg.evaluate import spearman_ci
    d = comir[comir.method == method]
    return spearman_ci(d.effective_rank_bottleneck, d.success_rate)


BOTH_FOLDS = ('uwloci-grid', 'uwloci-f2')   # the cores' two folds: together every core is held out once


@functools.lru_cache
def both_folds() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cores' MSE cells of both folds together (2-fold cross-validation over all 20 cores): their result rows, and each
    variant against `none` pair by pair over both folds' pairs (`paired_comparisons`; clusters are fold/core, Holm over the 12)."""
    from corepreg.study import all_records
    from corepreg.evaluate import paired_comparisons
    res = pd.concat([pd.read_csv(ROOT/'results'/n/'results.csv') for n in BOTH_FOLDS], ignore_index=True)
    recs = pd.concat([all_records(ROOT/'results'/n) for n in BOTH_FOLDS], ignore_index=True)
    recs = recs[(recs.representation == 'comir') & (recs.critic == 'mse')]
    assert set(recs.fold) == {1, 2}, set(recs.fold)
    return res[(res.critic == 'mse') | (res.representation == 'raw')], paired_comparisons(recs)


def grid_files(name) -> tuple[pd.DataFrame, pd.DataFrame]:
    "A statistics grid's results.csv and comparisons.csv; `BOTH_FOLDS` for the cores' two folds together."
    if name == BOTH_FOLDS: return both_folds()
    d = ROOT/'results'/name
    return pd.read_csv(d/'results.csv'), pd.read_csv(d/'comparisons.csv')


def critic_cells(name, critic:str) -> tuple[pd.DataFrame, pd.DataFrame]:
    "A statistics grid's CoMIR result rows for one critic, and its comparisons for that critic (`grid_files`)."
    res, cmp = grid_files(name)
    return res[(res.representation == 'comir') & (res.critic == critic)], cmp[cmp.critic == critic]


def mean_rank(comir:pd.DataFrame) -> pd.Series:
    "The bottleneck's effective rank per supervision variant, averaged over a grid's cells (one value per cell)."
    return comir.drop_duplicates('cell_id').groupby('supervision').effective_rank_bottleneck.mean()


def key_rows() -> list[str]:
    "One markdown row per dataset: fftmi success of the MSE-critic CoMIRs per variant, then the raw baselines."
    rows = []
    for label, folder, dataset in ROWS:
        res = pd.read_csv(ROOT/'results'/folder/'results.csv')
        res = res[res.dataset == dataset]
        comir = res[(res.representation == 'comir') & (res.critic == 'mse') & (res.method == 'fftmi')]
        raw = res[res.representation == 'raw']
        cells = [f"{comir[comir.supervision == v].success_rate.mean():.2f}" for v in VARIANTS]
        cells += [f"{raw[raw.method == m].success_rate.mean():.2f}" for m in ('fftmi', 'mi')]
        rows.append(f"| {label} | " + ' | '.join(cells) + ' |')
    return rows


@pytest.mark.parametrize('folder', ['quick', 'uwloci', 'uwloci-standard', 'uwloci-grid', 'uwloci-f2', 'isl-grid', 'isl-standard-f2', 'uwloci-rgb-sup',
                                    'isl-confocal', 'isl-confocal-f2', 'isl-confocal-sup', 'uwloci-rgb-c4',
                                    'isl-confocal-2x', 'uwloci-comir-gpu', 'uwloci-comir-gpu-3250'])   # results/uwloci-rgb: its last shard ran beside an edit of tests/ (its NOTE.md)
def test_results_name_their_command_and_a_clean_commit(folder):
    cmd = json.loads((ROOT/'results'/folder/'command.json').read_text())
    assert cmd['command'].startswith('corepreg study') and '--out ' in cmd['command'], cmd['command']
    assert len(cmd['commit']) == 40 and not cmd['commit'].endswith('dirty'), cmd['commit']


# The study's finding, word for word as PAPER.md gives it; the pages must state it before our own answer.
PAPER_FINDING = ("**The paper's finding:** the representations learned *without* additional supervision of the bottleneck (the plain CoMIR)\n"
                 "registered best, on both datasets; supervising the bottleneck led to partial dimensional collapse of its embedding space,\n"
                 "which the authors show with MDS.")


@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb', 'nbs/12_results.ipynb'])
def test_pages_state_the_papers_finding(page):
    "Each page carries the paper's finding verbatim, and none repeats the old misstatement that supervision helped."
    text = page_text(page)
    assert PAPER_FINDING in text, f"{page} must state the paper's finding exactly: {PAPER_FINDING}"
    for wrong in ('The paper reports that it can', "the paper's claim that supervision of intermediate layers can improve",
                  'in the direction the paper reports'):
        assert wrong not in text, f"{page} misstates the paper: {wrong!r}"


# The standard preset's held-out measurements (issue 13): one row per dataset and fold.
STANDARD = [('SHG / bright-field cores (`results/uwloci-standard`)', 'uwloci-standard'), ('ISL phase / confocal tiles (`results/isl-standard-f2`)', 'isl-standard-f2')]


def standard_rows() -> list[str]:
    "Per dataset and fold: CoMIR success with ssd, sift, fftmi, mi; the raw baselines; held-out r; training minutes."
    rows = []
    for label, folder in STANDARD:
        res = pd.read_csv(ROOT/'results'/folder/'results.csv')
        for fold, d in res.groupby('fold'):
            c = d[d.representation == 'comir'].set_index('method'); r = d[d.representation == 'raw'].set_index('method')
            cells = [f"{c.success_rate[m]:.2f}" for m in ('ssd', 'sift', 'fftmi', 'mi')]
            cells += [f"{r.success_rate[m]:.2f}" for m in ('fftmi', 'mi')]
            cells += [f"{c.comir_r.iloc[0]:.2f}", f"{c.train_seconds.iloc[0] / 60:.1f}"]
            rows.append(f"| {label} | {fold} | " + ' | '.join(cells) + ' |')
    return rows


def p_text(p:float) -> str: return '< 0.001' if p < 0.001 else f"{p:.3f}"


# Network B on three channels (`--colour-b`) against one, pair by pair: each study's folders (the first holds the comparison)
COLOUR = {'uwloci-rgb': ('uwloci-rgb',), 'isl-confocal': ('isl-confocal', 'isl-confocal-f2')}


def colour_rows(name:str='uwloci-rgb') -> list[str]:
    """Network B fed three channels (the bright-field in colour: results/uwloci-rgb; the ISL tiles' confocal channels:
    results/isl-confocal) against one (the grids' plain CoMIR), pair by pair: per back-end, from `tools/colour_vs_grey.py`'s
    colour_vs_grey.csv; then per fold, the colour study's means over seeds."""
    first = ROOT/'results'/COLOUR[name][0]
    c = pd.read_csv(first/'colour_vs_grey.csv').set_index('method')
    rows = [f"| `{m}` | {c.success_variant[m]:.2f} | {c.success_baseline[m]:.2f} | {with_ci(c.difference[m], c.ci_low[m], c.ci_high[m])} | "
            f"{c.only_variant[m]} / {c.only_baseline[m]} | {p_text(c.p_holm[m])} | {c.verdict[m]} |" for m in ('ssd', 'sift', 'fftmi', 'mi')]
    r = json.loads((first/'colour_vs_grey.json').read_text())['held_out_r']
    res = pd.concat([pd.read_csv(ROOT/'results'/f/'results.csv') for f in COLOUR[name]], ignore_index=True)
    for fold, d in res.groupby('fold'):
        c = d[d.representation == 'comir'].groupby('method').success_rate.mean(); w = d[d.representation == 'raw'].set_index('method').success_rate
        cells = [f"{c[m]:.2f}" for m in ('ssd', 'sift', 'fftmi', 'mi')] + [f"{w['fftmi']:.2f}", f"{r['colour'][str(fold)]:.2f}", f"{r['grey'][str(fold)]:.2f}"]
        cells.append(f"{d[d.representation == 'comir'].drop_duplicates('cell_id').train_seconds.mean() / 60:.1f}")
        rows.append(f"| {fold} | {d[d.representation == 'comir'].seed.nunique()} | " + ' | '.join(cells) + ' |')
    return rows


def isl_confocal_rows() -> list[str]: return colour_rows('isl-confocal')


@pytest.mark.parametrize('table, rows', [('key', key_rows), ('standard-preset', standard_rows), ('colour', colour_rows),
                                         ('isl-confocal', isl_confocal_rows)])
@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb'])
def test_tables_match_results(page, table, rows):
    text = page_text(page)
    for row in rows():
        assert row in text, f"{page} does not carry this row of the {table} table, rebuilt from results/: {row}"


def verdict_rows() -> list[str]:
    "Per dataset: each supervised variant against none (MSE critic, fftmi), from the folder's comparisons.csv."
    rows = []
    for label, folder, dataset in ROWS:
        c = pd.read_csv(ROOT/'results'/folder/'comparisons.csv')
        c = c[(c.dataset == dataset) & (c.critic == 'mse') & (c.method == 'fftmi')].set_index('supervision')
        cells = [f"{c.difference[v]:+.2f} [{c.ci_low[v]:+.2f}, {c.ci_high[v]:+.2f}]: {c.verdict[v]}" for v in VARIANTS[1:]]
        rows.append(f"| {label} | " + ' | '.join(cells) + ' |')
    return rows


@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb'])
def test_verdict_table_matches_comparisons(page):
    "The paired-comparison verdicts the pages quote are the ones in results/*/comparisons.csv."
    text = page_text(page)
    for row in verdict_rows():
        assert row in text, f"{page} does not carry this row of the verdict table, rebuilt from comparisons.csv: {row}"


def grid_rows() -> list[str]:
    """The plain CoMIR (MSE critic) of the statistics grid (fold 1) and of its swapped fold (results/uwloci-f2), one row per seed,
    each fold followed by the raw-image baselines of the same pairs."""
    rows = []
    for name in ('uwloci-grid', 'uwloci-f2'):
        res = pd.read_csv(ROOT/'results'/name/'results.csv')
        fold = int(res.fold.iloc[0]); assert (res.fold == fold).all(), name
        for seed, d in res[(res.supervision == 'none') & (res.critic == 'mse')].groupby('seed'):
            c = d.set_index('method')
            cells = [f"{c.success_rate[m]:.2f}" for m in ('ssd', 'sift', 'fftmi', 'mi')] + [f"{c.comir_r.iloc[0]:.2f}"]
            rows.append(f"| plain CoMIR, seed {int(seed)} (`results/{name}`) | {fold} | {int(c.n_pairs.iloc[0])} | " + ' | '.join(cells) + ' |')
        r = res[res.representation == 'raw'].set_index('method')
        rows.append(f"| raw images | {fold} | {int(r.n_pairs.iloc[0])} | – | – | {r.success_rate['fftmi']:.2f} | {r.success_rate['mi']:.2f} | – |")
    return rows


def grid_mean_rows(name:str='uwloci-grid', critic:str='mse') -> list[str]:
    "A grid's answer table for one critic: per supervision variant, success mean ± std over seeds per back-end and the bottleneck's effective rank; then the raw images."
    res = pd.read_csv(ROOT/'results'/name/'results.csv')
    comir = res[(res.representation == 'comir') & (res.critic == critic)]
    ms = lambda v: f"{v.mean():.2f} ± {v.std(ddof=0):.2f}"
    rows = []
    for v in VARIANTS:
        d = comir[comir.supervision == v]
        if d.empty: continue   # a grid still running
        cells = [ms(d[d.method == m].success_rate) for m in ('ssd', 'fftmi', 'mi', 'sift')]
        rank = d.drop_duplicates('cell_id').effective_rank_bottleneck
        rows.append(f"| {v} | " + ' | '.join(cells) + f" | {rank.mean():.1f} | {d.seed.nunique()} |")
    r = res[res.representation == 'raw'].groupby('method').success_rate.mean()   # a two-fold grid: the mean of its folds' baselines
    rows.append(f"| raw images (no networks) | – | {r['fftmi']:.2f} | {r['mi']:.2f} | – | – | – |")
    return rows


def grid_verdict_rows(name:str='uwloci-grid', critic:str='mse') -> list[str]:
    "A grid's paired comparisons for one critic: per supervised variant, each back-end's difference against none, its CI and verdict."
    c = pd.read_csv(ROOT/'results'/name/'comparisons.csv')
    c = c[c.critic == critic].set_index(['supervision', 'method'])
    return [f"| {v} | " + ' | '.join(f"{c.difference[v, m]:+.2f} [{c.ci_low[v, m]:+.2f}, {c.ci_high[v, m]:+.2f}]: {c.verdict[v, m]}"
                                      for m in ('ssd', 'fftmi', 'mi', 'sift')) + f" | {int(c.n_seeds[v, 'ssd'])} |"
            for v in VARIANTS[1:] if v in c.index.get_level_values(0)]


@pytest.mark.parametrize('rows', [grid_rows, grid_mean_rows, grid_verdict_rows])
@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb'])
def test_grid_rows_match_results(page, rows):
    "The grid's rows on the pages (plain CoMIR per seed, raw baselines, paired verdicts) are rebuilt from results/uwloci-grid."
    text = page_text(page)
    for row in rows():
        assert row in text, f"{page} does not carry this row of the grid's tables, rebuilt from results/uwloci-grid: {row}"



def complete_seeds(res:pd.DataFrame, critic:str) -> int:
    "How many seeds of a grid's critic have a cell for every supervision variant."
    c = res[(res.representation == 'comir') & (res.critic == critic)]
    return int((c.groupby('seed').supervision.nunique() == len(VARIANTS)).sum())


def assert_grid_block(page:str, status:str, rows:list[str]):
    "A grid's block on a page: it says how far the grid has run (`status`) and carries every table row rebuilt from results/."
    text = page_text(page)
    assert status in ' '.join(text.split()), f"{page} must say how far the grid has run: {status}"
    for row in rows: assert row in text, f"{page} does not carry this table row, rebuilt from results/: {row}"


@pytest.mark.parametrize('name', ['isl-grid', 'uwloci-f2'])
@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb'])
def test_mse_grid_tables_match_results(page, name):
    "The ISL grid's and the cores' swapped fold's answer and verdict tables on the pages are rebuilt from results/, with how far each has run."
    res = pd.read_csv(ROOT/'results'/name/'results.csv')
    status = f"`results/{name}`: {res.cell_id.nunique()} of 13 cells, {complete_seeds(res, 'mse')} of 3 seeds complete"
    assert_grid_block(page, status, grid_mean_rows(name) + grid_verdict_rows(name))


@pytest.mark.parametrize('name', ['uwloci-rgb-sup', 'isl-confocal-sup'])
@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb'])
def test_colour_grid_tables_match_results(page, name):
    """The supervision grids with network B on three channels (the bright-field in colour; the ISL tiles' confocal channels), both
    folds in one study: their answer and verdict tables, with how far each has run."""
    res = pd.read_csv(ROOT/'results'/name/'results.csv')
    grid = json.loads((ROOT/'results'/name/'grid.json').read_text())
    comir = res[res.representation == 'comir']
    k = min(complete_seeds(comir[comir.fold == f], 'mse') for f in grid['folds'])
    status = (f"`results/{name}`: {res.cell_id.nunique()} of {len(grid['folds']) * (1 + grid['seeds'] * len(VARIANTS))} cells, "
              f"{k} of {grid['seeds']} seed{'s' * (grid['seeds'] > 1)} complete in both folds")
    assert_grid_block(page, status, grid_mean_rows(name) + grid_verdict_rows(name))


@pytest.mark.parametrize('critic, shard, label', [('l1', '3/3', 'L1'), ('cosine', '1/3', 'cosine')])
@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb'])
def test_critic_tables_match_results(page, critic, shard, label):
    "The cores grid's L1 and cosine critics (their shards) on the pages: how far each has run, and its tables, rebuilt from results/uwloci-grid."
    res = pd.read_csv(ROOT/'results'/'uwloci-grid'/'results.csv')
    n = res[(res.representation == 'comir') & (res.critic == critic)].cell_id.nunique()
    status = f"(`results/uwloci-grid`, `--shard {shard}`: {n} of 12 {label} cells, {complete_seeds(res, critic)} of 3 seeds complete"
    assert_grid_block(page, status, grid_mean_rows('uwloci-grid', critic) + grid_verdict_rows('uwloci-grid', critic))


def l1_prose() -> list[str]:
    "The numbers of the answer's L1 bullet, rebuilt from results/uwloci-grid; the claims it makes (best everywhere, one significant) asserted."
    comir, c = critic_cells('uwloci-grid', 'l1')
    assert set(comir.groupby(['method', 'supervision']).success_rate.mean().unstack().idxmax(axis=1)) == {'none'}, 'L1: the plain CoMIR is no longer best everywhere'
    assert (c.difference < 0).all() and (c.verdict == 'worse').sum() == 1, c[['method', 'supervision', 'difference', 'verdict']]
    w = c[c.verdict == 'worse'].iloc[0]
    rank = mean_rank(comir)
    s = rank_rho(comir, 'ssd')
    assert s['rho'] < 0 and rank['pooled'] >= rank['none'] and rank['projected'] >= rank['none'], (s, rank)   # 'the wrong way', 'as wide or wider'
    return [f"all {len(c)} differences against it are negative, but only one is significant, `{w.supervision}` with `{w.method}` "
            f"({with_ci(w.difference, w.ci_low, w.ci_high)})",
            f"({rank['pooled']:.1f} and {rank['projected']:.1f} against {rank['none']:.1f})",
            f"across the {comir.cell_id.nunique()} cells the rank correlates with `ssd` success the wrong way (ρ {with_ci(s['rho'], s['ci_low'], s['ci_high'])})"]


def grid_prose() -> list[str]:
    "The numbers the answer's bullets quote, rebuilt from results/uwloci-grid (whitespace-normalised phrases)."
    d = ROOT/'results'/'uwloci-grid'
    res, cmp = pd.read_csv(d/'results.csv'), pd.read_csv(d/'comparisons.csv')
    c = cmp[cmp.critic == 'mse'].set_index(['method', 'supervision'])
    comir = res[(res.representation == 'comir') & (res.critic == 'mse')]
    rank = mean_rank(comir)
    sup = rank.drop('none')
    none = comir[comir.supervision == 'none'].pivot_table(index='seed', columns='method', values='success_rate')
    r = comir[comir.supervision == 'none'].drop_duplicates('cell_id').comir_r
    raw = res[res.representation == 'raw'].set_index('method').success_rate
    s = rank_rho(comir, 'ssd')
    assert c.difference[('ssd', 'pooled')].round(2) == c.difference[('ssd', 'projected')].round(2)   # the bullet names them together
    worst_p = f"{c.p_holm[c.verdict == 'worse'].max():.0e}".replace('e-0', 'e-')
    return [f"{-c.difference[('ssd', 'pooled')]:.2f} fewer with `pooled` and `projected`, {-c.difference[('ssd', 'dense')]:.2f} with `dense`",
            f"the largest in favour of a variant is {c.difference.max():+.2f}",
            f"({sup.min():.1f}–{sup.max():.1f} of 8 channels, against {rank['none']:.1f} without supervision)",
            f"Across the {comir.cell_id.nunique()} cells", f"Spearman ρ with `ssd` {with_ci(s['rho'], s['ci_low'], s['ci_high'])}",
            f"the plain CoMIRs register {span(none.ssd)} of the held-out pairs with `ssd`",
            f"({span(none.fftmi)} against {raw['fftmi']:.2f})", f"correlate at r = {span(r)}", hard_cores_phrase(),
            f"Holm's correction over all of the grid's comparisons, every critic's included (`comparisons.csv`; the largest corrected p of a "
            f"\"worse\" below is {worst_p})"]


def hard_cores_phrase(name:str='uwloci-grid') -> str:
    "Where the plain CoMIR's ssd misses lie: the two hardest held-out cores and the mean of the others, from a study's records."
    from corepreg.study import all_records
    recs = all_records(ROOT/'results'/name)
    per = recs[(recs.supervision == 'none') & (recs.critic == 'mse') & (recs.method == 'ssd')].groupby('name').success.mean().sort_values(kind='stable')
    (a, b), rest = per.index[:2], per.iloc[2:]
    return (f"Two of the {len(per)} held-out cores carry most of the misses (`ssd` {per[a]:.2f} on {a}, {per[b]:.2f} on {b}, "
            f"{rest.mean():.2f} on average on the other {len(rest)}")


def swapped_fold_prose() -> list[str]:
    "The numbers the pages quote about the swapped fold (results/uwloci-f2) beside the grid's fold 1, rebuilt from both folders."
    from corepreg.study import all_records
    ssd, fftmi, r, raw = {}, {}, {}, {}
    for fold, name in ((1, 'uwloci-grid'), (2, 'uwloci-f2')):
        res = pd.read_csv(ROOT/'results'/name/'results.csv')
        none = res[(res.supervision == 'none') & (res.critic == 'mse')]
        ssd[fold], fftmi[fold] = none[none.method == 'ssd'].success_rate, none[none.method == 'fftmi'].success_rate
        r[fold], raw[fold] = none.drop_duplicates('cell_id').comir_r, res[res.representation == 'raw'].set_index('method').success_rate
    n_aim = sum(int((v >= 0.9 - 1e-9).sum()) for v in ssd.values())
    hits = {round(x * 120) for v in ssd.values() for x in v if x >= 0.9 - 1e-9}; assert n_aim == 2 and len(hits) == 1, hits   # 'both exactly'
    at_aim = hits.pop()
    recs = all_records(ROOT/'results'/'uwloci-f2')
    per = recs[(recs.supervision == 'none') & (recs.method == 'ssd')].groupby('name').success.mean().sort_values(kind='stable')
    worst = per.index[0]
    raw_worst = recs[(recs.representation == 'raw') & (recs.name == worst)].groupby('method').success.mean()
    assert max(fftmi[1]) < raw[1]['fftmi'] and max(fftmi[2]) < raw[2]['fftmi'], 'fftmi on the CoMIRs no longer stays below raw fftmi'
    words = {1: 'one', 2: 'two', 3: 'three', 4: 'four', 5: 'five', 6: 'six'}
    return [f"`ssd` on the CoMIRs registers {span(ssd[1])} of the pairs in fold 1 and {span(ssd[2])} in fold 2 "
            f"(means {ssd[1].mean():.2f} and {ssd[2].mean():.2f}): {words[n_aim]} of the six networks reach the 0.90 aim, "
            f"both exactly ({at_aim} of 120 pairs)",
            hard_cores_phrase('uwloci-f2').replace('Two of the', 'two of the'),
            f"and {worst} defeats the raw images as well (raw `fftmi` {raw_worst['fftmi']:.2f}, raw `mi` {raw_worst['mi']:.2f})",
            f"({span(fftmi[1])} against {raw[1]['fftmi']:.2f}; {span(fftmi[2])} against {raw[2]['fftmi']:.2f})",
            f"r = {span(r[1])} (fold 2: {span(r[2])})", f"(the aim is 0.90; {span(ssd[2])} in the swapped fold, `results/uwloci-f2`)"]


@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb'])
def test_grid_answer_prose_matches_results(page):
    "The answer's verdict and the numbers in its bullets are the grid's: 'we agree' needs every ssd comparison worse and none better."
    text = ' '.join(page_text(page).split())
    c = pd.read_csv(ROOT/'results'/'uwloci-grid'/'comparisons.csv')
    c = c[c.critic == 'mse']                       # the answer is the MSE grid's; the other critics have their own section
    if "**Our answer: we agree with the paper, though one half of the cores does not show it on its own.**" in text:
        assert 'better' not in set(c.verdict) and (c[c.method == 'ssd'].verdict == 'worse').all(), c[['method', 'supervision', 'verdict']]
        res, both = both_folds()
        _, f2 = grid_files('uwloci-f2')
        assert paper_agreement(both) == 'yes' and paper_agreement(f2) != 'yes', (paper_agreement(both), paper_agreement(f2))
        ssd = res[(res.representation == 'comir') & (res.method == 'ssd')].groupby('supervision').success_rate.mean()
        assert ssd.idxmax() == 'none', ssd              # 'registers the most pairs with ssd ... over both folds together'
    else: raise AssertionError(f"{page}: the answer's verdict sentence is missing or changed; update this test with it")
    assert_quotes(page, grid_prose(), 'uwloci-grid')


def isl_prose() -> list[str]:
    "The numbers the pages quote about the ISL grid, rebuilt from results/isl-grid (whitespace-normalised phrases)."
    d = ROOT/'results'/'isl-grid'
    res, cmp = pd.read_csv(d/'results.csv'), pd.read_csv(d/'comparisons.csv')
    comir = res[(res.representation == 'comir') & (res.critic == 'mse')]
    mean = comir.groupby(['supervision', 'method']).success_rate.mean()
    rank = mean_rank(comir)
    raw = res[res.representation == 'raw'].set_index('method').success_rate
    s = rank_rho(comir, 'ssd')
    worst = cmp.loc[cmp.difference.idxmin()]
    t = rank_rho(comir, 'sift')
    mi = comir[comir.method == 'mi'].pivot_table(index='seed', columns='supervision', values='success_rate')
    gap = mi[['pooled', 'projected', 'dense']].sub(mi['none'], axis=0)
    assert (gap.loc[[0, 2]] < 0).all().all()   # the sentence says seeds 0 and 2 have every variant below none
    return [f"(`ssd` {mean['none', 'ssd']:.2f} and `mi` {mean['none', 'mi']:.2f} on its CoMIRs against {raw['fftmi']:.2f} with raw `fftmi`)",
            f"the largest deficit {signed(worst.difference)} (`{worst.supervision}` with `{worst.method}`)",
            f"(effective rank {rank.drop('none').min():.1f}–{rank.drop('none').max():.1f} against {rank['none']:.1f})",
            f"Spearman ρ with `ssd` {with_ci(s['rho'], s['ci_low'], s['ci_high'])} over {comir.cell_id.nunique()} cells",
            f"with `sift` it does, {with_ci(t['rho'], t['ci_low'], t['ci_high'])}",
            f"rest on {int(cmp.n_seeds.min())} × {int(cmp.n_pairs.min() // cmp.n_seeds.min())} pairs",
            f"rejects equality for {int((cmp.p_holm < 0.05).sum())} of the {len(cmp)} comparisons after Holm's correction",
            f"seeds 0 and 2 have every variant {-gap.loc[[0, 2]].max().max():.2f}–{-gap.loc[[0, 2]].min().min():.2f} below `none`",
            f"seed 1 has them level ({signed(gap.loc[1].min())} to {signed(gap.loc[1].max())})"]


@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb'])
def test_isl_prose_matches_results(page):
    "What the pages say about the ISL grid: whether any variant beats the plain CoMIR, whether any difference is significant, and the numbers quoted."
    text = ' '.join(page_text(page).split())
    cmp = pd.read_csv(ROOT/'results'/'isl-grid'/'comparisons.csv')
    claims = {'no supervised variant registers more pairs than the plain CoMIR with any back-end': (cmp.difference <= 0).all(),
              'none of these differences is significant': (cmp.verdict == 'no detectable difference').all(),
              'gives every difference a 95 % CI that includes 0': ((cmp.ci_low <= 0) & (cmp.ci_high >= 0)).all(),
              '**inconclusive, leaning the paper\'s way**': (cmp.difference < 0).all() and (cmp.verdict != 'better').all()}
    for claim, holds in claims.items():
        assert claim in text and holds, f"{page}: the ISL claim '{claim}' is missing or no longer true of results/isl-grid"
    assert_quotes(page, isl_prose(), 'isl-grid')


GLANCE = [('uwloci-grid', 'SHG / bright-field cores', 'mse', 'MSE'), ('uwloci-grid', 'SHG / bright-field cores', 'l1', 'L1'),
          ('uwloci-grid', 'SHG / bright-field cores', 'cosine', 'cosine'),
          ('uwloci-f2', 'SHG / bright-field cores, swapped fold', 'mse', 'MSE'),
          (BOTH_FOLDS, 'SHG / bright-field cores, both folds', 'mse', 'MSE'),
          ('uwloci-rgb-sup', 'SHG / bright-field cores, B in colour, both folds', 'mse', 'MSE'), ('isl-grid', 'ISL phase / confocal tiles', 'mse', 'MSE'),
          ('isl-confocal-sup', 'ISL tiles, B on three confocal channels, both folds', 'mse', 'MSE')]


def glance_rows() -> list[str]:
    "One row per dataset × critic of the statistics grids: the plain CoMIR's and the best variant's `ssd`, the verdict counts, and the agreement."
    rows = []
    for name, label, critic, clabel in GLANCE:
        comir, c = critic_cells(name, critic)
        ssd = comir[comir.method == 'ssd'].groupby('supervision').success_rate.mean()
        n = c.verdict.value_counts()
        k = min(complete_seeds(comir[comir.fold == f], critic) for f in sorted(set(comir.fold)))
        counts = f"{n.get('worse', 0)} / {n.get('no detectable difference', 0)} / {n.get('better', 0)}"
        agrees = paper_agreement(c) + ('' if k == 3 else f' so far ({k} of 3 seeds)')   # the rule, stated and tested in 11_study
        rows.append(f"| {label} | {clabel} | {comir.seed.nunique()} | {ssd['none']:.2f} | {ssd.drop('none').max():.2f} "
                    f"({ssd.drop('none').idxmax()}) | {counts} | {agrees} |")
    return rows


@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb'])
def test_glance_table_matches_results(page):
    "The at-a-glance table (every dataset × critic of the statistics grids) is rebuilt from results/."
    text = page_text(page)
    for row in glance_rows(): assert row in text, f"{page} does not carry this row of the at-a-glance table, rebuilt from results/: {row}"


def cosine_prose() -> list[str]:
    "The numbers of the answer's cosine bullet, rebuilt from results/uwloci-grid; its claims (best with ssd, which comparisons are significant) asserted."
    comir, c = critic_cells('uwloci-grid', 'cosine')
    ssd = comir[comir.method == 'ssd'].groupby('supervision').success_rate.mean()
    assert ssd.idxmax() == 'none', ssd                                                        # 'registers best with ssd'
    worse = c[c.verdict == 'worse']
    assert 'better' not in set(c.verdict) and len(worse) == 1, c[['method', 'supervision', 'difference', 'verdict']]
    w = worse.iloc[0]
    assert (c[c.method == 'fftmi'].difference > 0).sum() == 2, c                              # 'with fftmi two variants are a little ahead'
    rank = mean_rank(comir)
    assert rank.idxmax() == 'none', rank                                                      # 'every variant narrows it'
    s = rank_rho(comir, 'ssd')
    return [f"registers best with `ssd` ({ssd['none']:.2f} against {span(ssd.drop('none'))})",
            f"{(c.difference < 0).sum()} of the {len(c)} differences against it are negative",
            f"`{w.supervision}` with `{w.method}` ({with_ci(w.difference, w.ci_low, w.ci_high)})",
            f"(effective rank {rank.drop('none').min():.1f}–{rank.drop('none').max():.1f} against {rank['none']:.1f})",
            f"ρ with `ssd` {with_ci(s['rho'], s['ci_low'], s['ci_high'])}"]


def f2_prose() -> list[str]:
    """The numbers of the answer's swapped-fold bullet, rebuilt from results/uwloci-f2 and from both folds' records; the claims it
    makes asserted (nothing significant in fold 2, every variant narrower, both folds together: only losses with `ssd`)."""
    comir, cmp = critic_cells('uwloci-f2', 'mse')
    ssd = comir[comir.method == 'ssd'].groupby('supervision').success_rate.mean()
    assert (cmp.verdict == 'no detectable difference').all() and len(cmp) == 12, cmp[['method', 'supervision', 'verdict']]
    best = cmp.loc[cmp.difference.idxmax()]
    rank = mean_rank(comir)
    assert rank.idxmax() == 'none', rank                                                          # 'every variant narrows it'
    s = rank_rho(comir, 'ssd')
    _, both = both_folds()
    worse = both[both.verdict == 'worse'].sort_values('difference', ascending=False)
    assert 'better' not in set(both.verdict) and set(worse.method) == {'ssd'} and paper_agreement(both) == 'yes', both
    losses = ', '.join(f"`{w.supervision}` {with_ci(w.difference, w.ci_low, w.ci_high)}" for w in worse.itertuples())
    return [f"with `ssd` the plain CoMIR registers {ssd['none']:.2f} of the pairs and the variants {span(ssd.drop('none'))}",
            f"none of the {len(cmp)} differences is significant, and {(cmp.difference > 0).sum()} favour a variant "
            f"(the largest {signed(best.difference)}, `{best.supervision}` with `{best.method}`)",
            f"(effective rank {rank.drop('none').min():.1f}–{rank.drop('none').max():.1f} against {rank['none']:.1f})",
            f"ρ with `ssd` {with_ci(s['rho'], s['ci_low'], s['ci_high'])}",
            f"{ {1: 'one variant registers', 2: 'two variants register', 3: 'all three variants register'}[len(worse)]} "
            f"significantly fewer pairs with `ssd` ({losses})"]


def colour_sup_prose() -> list[str]:
    """The numbers of the answer's colour-grid bullet, rebuilt from results/uwloci-rgb-sup (both folds in one study, compared
    pair by pair); its claims asserted (one comparison significant, a loss; the plain CoMIR best with `ssd`; every variant's
    bottleneck narrower than the plain CoMIR's)."""
    comir, cmp = critic_cells('uwloci-rgb-sup', 'mse')
    ssd = comir[comir.method == 'ssd'].groupby('supervision').success_rate.mean()
    sig = cmp[cmp.verdict != 'no detectable difference']
    assert len(cmp) == 12 and len(sig) == 1 and (sig.verdict == 'worse').all(), cmp[['method', 'supervision', 'verdict']]
    rank = mean_rank(comir)
    assert rank.idxmax() == 'none', rank                                                          # 'every variant narrows it'
    assert ssd.idxmax() == 'none', ssd                                                            # 'the plain CoMIR registers best'
    s, w = sig.iloc[0], cmp.loc[cmp.difference.idxmin()]
    n = comir.seed.nunique()
    return [f"({n} seed{'s' * (n > 1)}, both folds, its block below)",
            f"with `ssd` the plain CoMIR registers {ssd['none']:.2f} of the 240 pairs a seed and the variants {span(ssd.drop('none'))}",
            f"one of the {len(cmp)} differences is significant, `{s.supervision}` with `{s.method}` "
            f"({with_ci(s.difference, s.ci_low, s.ci_high)}), and {(cmp.difference < 0).sum()} are negative, the largest "
            f"`{w.supervision}` with `{w.method}` ({with_ci(w.difference, w.ci_low, w.ci_high)})",
            f"(effective rank {rank.drop('none').min():.1f}–{rank.drop('none').max():.1f} against {rank['none']:.1f})",
            f"(`results/uwloci-rgb-sup`, {n} seeds, its block above) agrees with the paper",
            f"`{s.supervision}` registers significantly fewer pairs with `{s.method}`"]


def isl_tiles_prose(names=('isl-confocal', 'isl-confocal-f2'), diag='hard-tiles-s0-none-mse') -> list[str]:
    """The numbers of the ISL confocal bullet on the hard tiles, rebuilt from both folds' records and diagnostics: the four
    tiles where the plain CoMIR's `ssd` misses most, their share of the misses, the others' mean, r against success."""
    from corepreg.study import all_records
    from corepreg.evaluate import spearman_ci
    recs = pd.concat([all_records(ROOT/'results'/n) for n in names], ignore_index=True)
    c = recs[(recs.supervision == 'none') & (recs.critic == 'mse')]
    ssd = c[c.method == 'ssd'].groupby('name').success.mean().sort_values(kind='stable')
    r = pd.Series({k: v for n in names for k, v in json.loads((ROOT/'results'/n/'diagnostics'/f'{diag}.json').read_text())['r_per_image'].items()})
    assert set(r.index) == set(ssd.index) and c.seed.nunique() == 3, (sorted(r.index), sorted(ssd.index))
    hard, miss = ssd.index[:4], 1 - ssd
    raw = recs[recs.representation == 'raw'].groupby(['name', 'method']).success.mean().unstack()
    assert (raw.loc[hard].max(axis=1) == 0).sum() == 2, raw.loc[hard]          # 'two of the four defeat the raw images too'
    rho = spearman_ci(r[ssd.index], ssd)['rho']
    return [f"**Four of the {len(ssd)} tiles carry {100 * miss[hard].sum() / miss.sum():.0f} % of the `ssd` misses** ("
            + ', '.join(f"{k.removeprefix('isl-')} {ssd[k]:.2f}" for k in hard) + f", mean of {c.seed.nunique()} seeds); "
            f"the other twelve average {ssd.drop(hard).mean():.2f}",
            f"A tile's r does not predict its success (Spearman ρ {signed(rho)} over the {len(ssd)} tiles)"]


def isl_misses_prose(names=('isl-confocal', 'isl-confocal-f2')) -> list[str]:
    """The numbers of the ISL bullet on near misses, rebuilt from both folds' per-pair records of the plain CoMIR: misses
    within 5 px, success at 3 % of the width, the longest median shift of a tile (`residual_shift`), in the left column."""
    import numpy as np
    from corepreg.study import all_records
    from corepreg.evaluate import residual_shift
    recs = pd.concat([all_records(ROOT/'results'/n) for n in names], ignore_index=True)
    c = recs[(recs.supervision == 'none') & (recs.critic == 'mse')]
    ssd = c[c.method == 'ssd']; miss = ssd[~ssd.success]
    assert (ssd.width == 160).all() and c.seed.nunique() == 3
    shift = residual_shift(c[c.method.isin(['ssd', 'fftmi', 'mi']) & (c.error < 15)]).groupby('name')[['dx', 'dy']].median()
    length = np.hypot(shift.dx, shift.dy)
    assert length.idxmax().endswith('c0'), length                                                # 'in its left column'
    return [f"{(miss.error <= 5).sum()} of the {len(miss)} `ssd` misses land within 5 px (the threshold is {0.02 * 160:.1f} px)",
            f"at 3 % of the width `ssd` would register {(ssd.error <= 0.03 * 160).mean():.2f}",
            f"up to {length.max():.1f} px in its left column",
            steps_prose()]


def steps_prose() -> str:
    "The ISL bullet's twice-the-steps number, from the pair-by-pair comparison that results/isl-confocal-2x holds."
    c = pd.read_csv(ROOT/'results'/'isl-confocal-2x'/'vs_1300_steps.csv').set_index('method').loc['ssd']
    assert c.verdict == 'no detectable difference' and c.n_pairs == 256, c
    return f"twice the training steps moves `ssd` by {with_ci(c.difference, c.ci_low, c.ci_high)}"


def isl_confocal_sup_prose() -> list[str]:
    """The numbers of the sentences on the ISL three-channel grid (the answer's and the paragraph under its block), rebuilt
    from results/isl-confocal-sup; its claims asserted: the plain CoMIR best with every back-end, no gain, no `ssd` loss
    significant, every bottleneck narrower, and the plain CoMIR's cells those of the colour study, seed by seed."""
    comir, cmp = critic_cells('isl-confocal-sup', 'mse')
    means = comir.groupby(['method', 'supervision']).success_rate.mean().unstack()
    assert set(means.idxmax(axis=1)) == {'none'}, means
    ssd_cmp = cmp[cmp.method == 'ssd']
    assert 'better' not in set(cmp.verdict) and (ssd_cmp.verdict != 'worse').all() and (cmp.difference < 0).all(), cmp
    rank = mean_rank(comir)
    assert rank.idxmax() == 'none', rank
    k = min(complete_seeds(comir[comir.fold == f], 'mse') for f in (1, 2))
    words = {1: 'one seed', 2: 'two seeds', 3: 'three seeds'}
    for fold, other in ((1, 'isl-confocal'), (2, 'isl-confocal-f2')):   # 'the plain CoMIR's cells are those of ...', seed by seed
        for seed in sorted(set(comir[(comir.fold == fold) & (comir.supervision == 'none')].seed.astype(int))):
            mine, theirs = (pd.read_csv(ROOT/'results'/n/'records'/f'isl-f{fold}-s{seed}-none-mse.csv').drop(columns='seconds')
                            for n in ('isl-confocal-sup', other))
            pd.testing.assert_frame_equal(mine, theirs)
    s1 = comir[(comir.method == 'ssd') & (comir.fold == 1) & (comir.seed == 1)].set_index('supervision').success_rate
    assert s1.projected > s1.none and s1.pooled > s1.none, s1                               # 'seed 1 reverses the picture in fold 1'
    s2 = comir[(comir.method == 'ssd') & (comir.fold == 1) & (comir.seed == 2)].set_index('supervision').success_rate
    assert s2.dense > s2.none, s2                                                            # 'and so does seed 2's dense there'
    f2 = comir[(comir.method == 'ssd') & (comir.fold == 2)].pivot_table(index='seed', columns='supervision', values='success_rate')
    assert (f2.none > f2.drop(columns='none').max(axis=1)).all(), f2                         # 'in fold 2 the plain CoMIR leads in every seed'
    d, n_worse = ssd_cmp.difference, int((cmp.verdict == 'worse').sum())
    seeds = f"{words[k]} in both folds" if k == 3 else f"{words[k]} complete so far"
    return [f"{n_worse} of the {len(cmp)} comparisons are significant losses, none of them with `ssd` ({seeds})",
            f"With {words[k]} complete in both folds",
            f"{n_worse} of the {len(cmp)} comparisons are significant losses and none is a gain",
            f"(effective rank {rank.drop('none').min():.1f}–{rank.drop('none').max():.1f} against {rank['none']:.1f})",
            f"no `ssd` comparison is significant ({signed(d.max())} to {signed(d.min())})",
            f"where `projected` registers {s1.projected:.2f} of the pairs with `ssd` and `pooled` {s1.pooled:.2f} against the plain CoMIR's {s1.none:.2f}",
            f"and so does seed 2's `dense` there ({s2.dense:.2f} against {s2.none:.2f})"]


@pytest.mark.parametrize('prose, source', [(l1_prose, 'uwloci-grid'), (cosine_prose, 'uwloci-grid'), (isl_tiles_prose, 'isl-confocal and isl-confocal-f2'), (isl_misses_prose, 'isl-confocal and isl-confocal-f2'),
                                           (isl_confocal_sup_prose, 'isl-confocal-sup'),
                                           (swapped_fold_prose, 'uwloci-f2 and uwloci-grid'),
                                           (f2_prose, 'uwloci-f2 and both folds'), (colour_sup_prose, 'uwloci-rgb-sup')])
@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb'])
def test_prose_matches_results(page, prose, source):
    "The answer's L1 and cosine bullets and the sentences on the swapped fold quote the files they are rebuilt from."
    assert_quotes(page, prose(), source)


def gpu_comir_prose() -> list[str]:
    """The bullet on CoMIR's network trained on a GPU, rebuilt from results/uwloci-comir-gpu and its pair-by-pair comparison
    with seed 0 of results/uwloci-rgb-sup; its claims asserted: r up in both folds, `sift` better, `ssd` at the aim of 0.90
    in both folds and not worse, `fftmi` on the CoMIRs below the raw images."""
    res = pd.read_csv(ROOT/'results'/'uwloci-comir-gpu'/'results.csv')
    comir, raw = res[res.representation == 'comir'], res[res.representation == 'raw']
    tiny = pd.read_csv(ROOT/'results'/'uwloci-rgb-sup'/'results.csv')
    tiny = tiny[(tiny.supervision == 'none') & (tiny.seed == 0)]
    r, r_tiny = comir.groupby('fold').comir_r.mean(), tiny.groupby('fold').comir_r.mean()
    assert (r > r_tiny).all(), (r, r_tiny)
    ssd = comir[comir.method == 'ssd'].set_index('fold').success_rate
    assert (ssd >= 0.90).all(), ssd
    fft = comir[comir.method == 'fftmi'].set_index('fold').success_rate
    assert (fft < raw[raw.method == 'fftmi'].set_index('fold').success_rate).all()
    c = pd.read_csv(ROOT/'results'/'uwloci-comir-gpu'/'vs_tiny.csv').set_index('method')
    assert c.loc['sift', 'verdict'] == 'better' and c.loc['ssd', 'verdict'] == 'no detectable difference' and (c.n_pairs == 240).all(), c
    steps = json.loads((ROOT/'results'/'uwloci-comir-gpu'/'command.json').read_text())['command'].split('--steps ')[1].split()[0]
    return [f"for {int(steps):,} steps".replace(',', ' '), f"r {r[1]:.2f} and {r[2]:.2f} (seed 0 of the `tiny`",
            f"network: {r_tiny[1]:.2f} and {r_tiny[2]:.2f})",
            f"`sift`, {with_ci(*c.loc['sift', ['difference', 'ci_low', 'ci_high']])}",
            f"`ssd` stays at {ssd[1]:.2f} and {ssd[2]:.2f}", f"same {int(c.n_pairs.iloc[0])} held-out pairs",   # each page words the rest its own way
            *longer_prose(r)]


def longer_prose(r_2250) -> list[str]:
    "The 3 250-step run's numbers (results/uwloci-comir-gpu-3250), and the claims: no back-end better than at 2 250 steps, fold 2's r down."
    res = pd.read_csv(ROOT/'results'/'uwloci-comir-gpu-3250'/'results.csv')
    comir = res[res.representation == 'comir']
    r = comir.groupby('fold').comir_r.mean()
    assert r[2] < r_2250[2] and abs(r[1] - r_2250[1]) < 0.01, (r, r_2250)
    c = pd.read_csv(ROOT/'results'/'uwloci-comir-gpu-3250'/'vs_2250_steps.csv').set_index('method')
    assert not (c.verdict == 'better').any() and (c.n_pairs == 240).all(), c
    sift = comir[comir.method == 'sift'].success_rate.mean()
    return [f"fold 1 holds r {r[1]:.2f} but fold 2 falls to {r[2]:.2f}", f"`sift` drops back to {sift:.2f}"]


@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb', 'nbs/12_results.ipynb'])
def test_gpu_comir_prose_matches_results(page):
    "The pages' sentences on CoMIR's network trained on a GPU quote results/uwloci-comir-gpu (and seed 0 of uwloci-rgb-sup)."
    assert_quotes(page, gpu_comir_prose(), 'uwloci-comir-gpu')


def cpu_comir_prose() -> list[str]:
    """The sentence on CoMIR's network trained on the CPU under bfloat16, rebuilt from benchmarks/results_amp_eval.json
    (held-out r and `ssd` of each fold's 120 pairs) and results_amp_quality.json (steps and wall minutes); its claims
    asserted: both folds measured at the GPU run's schedule, on the same pairs, r within 0.05 of the GPU run's in each fold,
    and fold 2's `fftmi` on the CoMIRs one pair above raw `fftmi`."""
    bench = ROOT/'benchmarks'
    ev = {r['fold']: r for r in json.loads((bench/'results_amp_eval.json').read_text())['runs']}
    tr = {r['fold']: r for r in json.loads((bench/'results_amp_quality.json').read_text())['runs']
          if r['arm'] == 'bf16' and r.get('model', 'comir') == 'comir' and r['stopped_at'] == r['total_steps']}   # CoMIR's network (bench_amp_quality --model)
    assert set(ev) == set(tr) == {1, 2} and {r['total_steps'] for r in tr.values()} == {2250}, (set(ev), set(tr))
    gpu = pd.read_csv(ROOT/'results'/'uwloci-comir-gpu'/'results.csv')
    r_gpu = gpu[gpu.representation == 'comir'].groupby('fold').comir_r.mean()
    assert all(ev[f]['pairs'] == 120 and abs(ev[f]['plain']['r'] - r_gpu[f]) < 0.05 for f in (1, 2)), (ev, r_gpu)
    raw2 = gpu[(gpu.representation == 'raw') & (gpu.fold == 2) & (gpu.method == 'fftmi')].success_rate.iloc[0]
    assert round(ev[2]['plain']['fftmi']['success'] * 120) == round(raw2 * 120) + 1, (ev[2]['plain']['fftmi'], raw2)   # 'passes the raw images by one pair'
    minutes = sorted(round(r['wall_minutes']) for r in tr.values())
    return [f"{minutes[0]}–{minutes[1]} minutes a cell", f"r {ev[1]['plain']['r']:.2f} and {ev[2]['plain']['r']:.2f}",
            f"`ssd` {ev[1]['plain']['ssd']['success']:.2f} and {ev[2]['plain']['ssd']['success']:.2f}"]


def c4_and_small_prose() -> list[str]:
    """The sentences after it: the four-turn average of the CPU run in both folds (benchmarks/results_amp_eval_c4.json, whose
    one pass must reproduce results_amp_eval.json's) and the `small` network on the same schedule (results_small_quality.json,
    results_small_eval.json); their claim asserted: `small`'s r within `tiny`'s range of seeds (±0.01)."""
    bench = ROOT/'benchmarks'
    c4s = {r['fold']: r for r in json.loads((bench/'results_amp_eval_c4.json').read_text())['runs']}
    plain = {r['fold']: r['plain'] for r in json.loads((bench/'results_amp_eval.json').read_text())['runs']}
    for f, run in c4s.items():   # fold 2's network was trained again (the CPU training is deterministic): the same one pass
        assert all(run['plain'][m]['per_pair'] == plain[f][m]['per_pair'] for m in ('ssd', 'fftmi', 'sift')), f'fold {f}: the c4 run must reproduce the one pass'
    def sift(f):
        p, q = np.array(c4s[f]['plain']['sift']['per_pair']), np.array(c4s[f]['c4']['sift']['per_pair'])
        return p.sum(), q.sum(), len(p), int((q > p).sum()), int((p > q).sum())
    (p1, q1, n1, g1, l1), (p2, q2, _, g2, l2) = sift(1), sift(2)
    ev = {r['fold']: r['plain']['r'] for r in json.loads((bench/'results_small_eval.json').read_text())['runs']}
    tr = [r for r in json.loads((bench/'results_small_quality.json').read_text())['runs'] if r['model'] == 'small' and r['stopped_at'] == 2250]
    tiny = pd.read_csv(ROOT/'results'/'uwloci-rgb'/'results.csv')
    tiny = tiny[(tiny.representation == 'comir') & (tiny.supervision == 'none')].comir_r
    assert set(ev) == {r['fold'] for r in tr} == {1, 2} and all(tiny.min() - 0.01 <= v <= tiny.max() + 0.01 for v in ev.values()), (ev, tiny)
    return [f"`sift` from {p1} to {q1} of its {n1} pairs ({g1} gained, {l1} lost)", f"from {p2} to {q2} ({g2} gained, {l2} lost)",
            f"({round(np.median([r['wall_minutes'] for r in tr]))} minutes a cell)", f"r ({ev[1]:.2f} and {ev[2]:.2f})"]


@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb', 'nbs/12_results.ipynb'])
def test_c4_and_small_prose_matches_results(page):
    "The pages' sentences on the four-turn average of CoMIR's network and on `small` quote the benchmarks' JSON files."
    assert_quotes(page, c4_and_small_prose(), 'the benchmarks results_amp_eval_c4.json and results_small_*.json')


@pytest.mark.parametrize('page', ['README.md', 'nbs/index.ipynb', 'nbs/12_results.ipynb'])
def test_cpu_comir_prose_matches_results(page):
    "The pages' sentence on CoMIR's network trained on the CPU quotes benchmarks/results_amp_eval.json and results_amp_quality.json."
    assert_quotes(page, cpu_comir_prose(), 'the benchmarks results_amp_eval.json and results_amp_quality.json')


def test_repeated_cpu_training_is_deterministic():
    "RESULTS.md's claim that CoMIR's network, trained again on the CPU from its recorded command, reproduces its first run: the repeat's record (results_amp_quality_repeat.json) against the first's."
    bench = ROOT/'benchmarks'
    first = [r for r in json.loads((bench/'results_amp_quality.json').read_text())['runs'] if r['fold'] == 2 and r.get('model', 'comir') == 'comir' and r['stopped_at'] == 2250]
    again = json.loads((bench/'results_amp_quality_repeat.json').read_text())['runs']
    assert len(first) == len(again) == 1 and first[0]['commit'] != again[0]['commit']
    for k in ('val', 'loss_last_50', 'final_val_128', 'total_steps', 'amp'):
        assert first[0][k] == again[0][k], k
    assert len(again[0]['val']) == 23 and f"reproduced all {len(again[0]['val'])} validation points" in (bench/'RESULTS.md').read_text()
