"""The analysis plan's test is valid at the unit of replication (the trained network), proven on simulated grids with no
effect; the old pooled McNemar is not. If `PLAN.test` were swapped for the pooled McNemar, these tests fail."""
from pathlib import Path

import numpy as np
import pytest

from corepreg.plan import (PLAN, TESTS, network_t, operating_characteristics, primary_analysis, simulate_grids, success_array,
                           variance_components, verdict_sentence)
from corepreg.study import all_records

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope='module')
def tiny():
    "The records of the study's 4-variant `tiny` grid on the SHG / bright-field cores (committed in results/)."
    return all_records(ROOT/'results'/'uwloci-rgb-sup')


@pytest.fixture(scope='module')
def components(tiny):
    return variance_components(tiny, 'ssd', reps=40)


@pytest.fixture(scope='module')
def null_oc(components):
    "2 000 simulated grids with no effect at the plan's design, each test's rejection rate at α."
    return operating_characteristics(components, 0.94, seeds=(PLAN.seeds,), folds=len(PLAN.folds), deltas=(0.0, 0.10),
                                     n_grids=2000, alpha=PLAN.alpha, family=len(PLAN.variants)).set_index(['test', 'delta'])


def test_planned_test_holds_its_level(null_oc):
    "The primary test that the plan names rejects no more than α of the null grids (up to Monte Carlo error)."
    fp = null_oc.loc[(PLAN.test, 0.0)]
    assert fp.ci_low <= PLAN.alpha and fp.rate <= PLAN.alpha + 0.01, fp


def test_pooled_mcnemar_exceeds_the_level(null_oc):
    "Pooling the pairs of a few networks as independent trials calls a difference in far more than α of the null grids."
    fp = null_oc.loc[('pooled-mcnemar', 0.0)]
    assert fp.ci_low > 2 * PLAN.alpha, fp
    assert fp.rate > null_oc.loc[(PLAN.test, 0.0)].ci_high


def test_plan_is_powered_for_twice_delta(null_oc):
    "The plan's seeds find a drop of 2δ with probability at least its power target, at Holm's first-step level."
    assert null_oc.loc[(PLAN.test, 0.10)].rate >= PLAN.power_target


def test_primary_analysis_uses_the_planned_test(tiny):
    "The p-values on the pages come from the plan's test on the networks, not from the pairs."
    table = primary_analysis(tiny)
    s, folds, seeds = success_array(tiny, 'dense', PLAN.baseline, PLAN.method)
    assert s.shape == (1, 2, 2, 3, 120) and folds == [1, 2] and seeds == [0, 1, 2]
    p = float(TESTS[PLAN.test](s)['p'][0])
    assert table.set_index('supervision').loc['dense', 'p'] == pytest.approx(p, abs=1e-12)
    assert table.set_index('supervision').loc['dense', 'p'] == pytest.approx(float(network_t(s)['p'][0]), abs=1e-12)


def test_network_t_ignores_the_number_of_pairs():
    "More pairs per network sharpen each network's rate but add no networks: the same rates give the same p."
    rng = np.random.default_rng(1)
    k = rng.integers(60, 96, (1, 2, 2, 5))                                    # each network's successes of 100 pairs
    few = np.arange(100)[None, None, None, None] < k[..., None]
    many = np.repeat(few, 10, axis=-1)                                          # the same rates on 1 000 pairs
    assert network_t(few)['p'][0] == pytest.approx(network_t(many)['p'][0], abs=1e-12)
    assert TESTS['pooled-mcnemar'](many)['p'][0] < TESTS['pooled-mcnemar'](few)['p'][0]   # the pooled test grows "surer"


def test_words_follow_the_test(tiny):
    "No 'worse' or 'better' on the pages unless the Holm-adjusted test rejects."
    table = primary_analysis(tiny)
    sentence = verdict_sentence(table, what='the tiny network')
    rejected = (table.p_holm < PLAN.alpha).any()
    assert ('made registration worse' in sentence or 'made registration better' in sentence) == rejected
    for r in table.itertuples(): assert f"{r.difference:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}]" in sentence


def test_pages_carry_the_generated_answer():
    "README.md and the home page carry the answer block that the plan's analysis of results/ gives (`make pages` rewrites it)."
    import subprocess, sys
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'pages.py'), '--check'], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_answer_follows_the_files(tmp_path):
    "Change a network's records and the generated answer changes with them: no number in it is typed."
    import shutil
    from corepreg.plan import answer_lines
    shutil.copytree(ROOT/'results'/'uwloci-rgb-sup5', tmp_path/'uwloci-rgb-sup5')
    before = answer_lines(tmp_path)
    f = tmp_path/'uwloci-rgb-sup5'/'records'/'folder-f1-s0-dense-mse.csv'
    recs = __import__('pandas').read_csv(f)
    recs.loc[recs.method == 'ssd', 'success'] = True                      # this network now registers every ssd pair
    recs.to_csv(f, index=False)
    after = answer_lines(tmp_path)
    assert before != after
    dense = lambda lines: next(l for l in lines if l.startswith('| `tiny`, MSE, cores, B in colour')).split(' | ')[5]
    assert dense(before) != dense(after)


def test_readme_follows_the_files(tmp_path):
    "The README that `make pages` writes changes when a result file changes: its answer is generated, not typed."
    import importlib.util, shutil
    import pandas as pd
    spec = importlib.util.spec_from_file_location('pages', ROOT/'tools'/'pages.py'); pages = importlib.util.module_from_spec(spec); spec.loader.exec_module(pages)
    shutil.copytree(ROOT/'results'/'uwloci-rgb-sup5', tmp_path/'results'/'uwloci-rgb-sup5')
    index = (ROOT/'nbs'/'index.ipynb').read_text()
    readme = lambda: pages.readme_from(pages.fill_notebook(index, pages.blocks(tmp_path))[0])
    before = readme()
    f = tmp_path/'results'/'uwloci-rgb-sup5'/'records'/'folder-f1-s0-dense-mse.csv'
    recs = pd.read_csv(f); recs.loc[recs.method == 'ssd', 'success'] = True; recs.to_csv(f, index=False)
    after = readme()
    assert before != after and '<!-- short-answer:begin -->' in after

