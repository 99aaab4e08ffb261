"Tests of the literate-package machinery: the export check, nbdev_test failing on a bad notebook, the docs build."
import json, importlib.util
import pytest
from conftest import ROOT, VENV_BIN, run


def test_export_check_passes_on_the_repo():
    r = run(['tools/check_export.sh'])
    assert r.returncode == 0, r.stderr
    assert 'matches the notebooks' in r.stdout


def test_hand_edit_of_the_package_is_caught(project_copy):
    core = project_copy/'corepreg'/'core.py'
    core.write_text(core.read_text() + '\nHAND_EDIT = 1\n')
    r = run(['tools/check_export.sh'], cwd=project_copy)
    assert r.returncode == 1
    assert 'edit the notebook in nbs/ instead' in r.stderr
    assert 'HAND_EDIT' in r.stderr            # the offending lines are shown
    assert 'HAND_EDIT' in core.read_text()     # and the hand edit is not lost


def test_failing_notebook_assert_fails_nbdev_test(project_copy):
    nb = json.loads((project_copy/'nbs'/'00_core.ipynb').read_text())
    nb['cells'].append({'cell_type': 'code', 'execution_count': None, 'id': 'failing1', 'metadata': {},
                        'outputs': [], 'source': 'assert 1 + 1 == 3, "deliberately failing"'})
    (project_copy/'nbs'/'00_core.ipynb').write_text(json.dumps(nb))
    r = run([str(VENV_BIN/'nbdev_test'), '--path', '00_core.ipynb'], cwd=project_copy/'nbs')
    assert r.returncode != 0
    assert 'deliberately failing' in r.stdout + r.stderr


def test_package_imports_without_nbdev_or_fastcore():
    code = ("import sys, importlib; sys.modules['nbdev'] = None; sys.modules['fastcore'] = None\n"
            "import pkgutil, corepreg\n"
            "for m in pkgutil.iter_modules(corepreg.__path__):\n"
            "    if not m.name.startswith('_'): importlib.import_module('corepreg.' + m.name)\n"
            "print('ok')")
    r = run([str(VENV_BIN/'python'), '-c', code])
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr


def test_quarto_config_is_single_and_seen_by_nbdev():
    linked = ROOT/'nbs'/'_quarto.yml'
    assert linked.is_symlink() and linked.resolve() == (ROOT/'_quarto.yml').resolve()


@pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in ('nbconvert', 'yaml', 'nbdev')),
                    reason='the docs fallback needs nbconvert, pyyaml and nbdev (make env installs them)')
def test_docs_build_writes_one_page_per_notebook():
    r = run([str(VENV_BIN/'python'), 'tools/build_docs.py', '--fallback'])
    assert r.returncode == 0, r.stderr
    docs = ROOT/'_docs'
    index = (docs/'index.html').read_text()
    assert '<h1 class="title">corepreg</h1>' in index
    assert 'href="core.html"' in index                      # navigation between pages
    nbs = [p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_')]
    import re
    pages = {re.sub(r'^\d+[a-z]?_', '', p.stem) + '.html' for p in nbs}
    assert pages <= {p.name for p in docs.glob('*.html')}
    # nbdev's processing picked up the top-level _quarto.yml through the link
    assert (ROOT/'_proc'/'_quarto.yml').read_text() == (ROOT/'_quarto.yml').read_text()
    core = (docs/'core.html').read_text()
    assert 'atomic_write' in core and '#| echo' not in core


def test_notebooks_keep_one_definition_a_cell():
    "Issue 16's bar: the median exporting cell is at most 10 lines, no cell holds two definitions, no exported function is over 40 lines."
    r = run([str(VENV_BIN/'python'), str(ROOT/'tools'/'cell_stats.py')])
    assert r.returncode == 0 and 'cells with 2 or more: 0' in r.stdout, r.stdout + r.stderr


def test_benchmarks_import_without_path_hacks():
    "A script runs as `python benchmarks/x.py` or `python ablations/x.py`: its siblings import as they are, the package as installed; no sys.path edits."
    hacks = [f'{p.parent.name}/{p.name}' for d in ('benchmarks', 'ablations') for p in sorted((ROOT/d).glob('*.py')) if 'sys.path' in p.read_text()]
    assert not hacks, hacks


def test_every_ablation_result_has_its_script_and_benchmarks_hold_no_science():
    "Each file of results/ablations/ is named by a script in ablations/ that writes it; benchmarks/ writes nothing there."
    scripts = ' '.join(p.read_text() for p in (ROOT/'ablations').glob('*.py'))
    orphans = [f.name for f in sorted((ROOT/'results'/'ablations').iterdir()) if f.name not in scripts]
    assert not orphans, orphans
    assert not [p.name for p in (ROOT/'benchmarks').glob('*.py') if 'results/ablations' in p.read_text() or "'ablations'" in p.read_text()]
