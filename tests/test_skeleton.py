"Tests of the literate-package machinery: the export check, nbdev_test failing on a bad notebook, the docs build."
import json, importlib.util, re
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


OUTSIDE = re.compile(r'\.\./shared|PAPER\.md|TOOLCHAIN\.md|\b[Ii]ssues? \d+')


def _page_texts():
    "Every page and package file a stranger reads: README, RESULTS.md, the notebooks' sources and rendered text, the package."
    yield 'README.md', (ROOT/'README.md').read_text()
    yield 'benchmarks/RESULTS.md', (ROOT/'benchmarks'/'RESULTS.md').read_text()
    for p in sorted((ROOT/'nbs').glob('*.ipynb')):
        cells = json.loads(p.read_text())['cells']
        yield p.name, '\n'.join(''.join(c['source']) + ''.join(''.join(o.get('data', {}).get('text/markdown', '')) for o in c.get('outputs', [])) for c in cells)
    for p in sorted((ROOT/'corepreg').glob('*.py')): yield p.name, p.read_text()


def test_no_page_or_module_points_outside_the_repository():
    "No page, package file or docstring names our workspace (../shared, PAPER.md, TOOLCHAIN.md) or an issue number."
    bad = [f"{name}: {m.group(0)!r}" for name, text in _page_texts() for m in OUTSIDE.finditer(text)]
    assert not bad, bad


def test_readme_is_a_front_door():
    "README.md is at most 150 lines, with both set-up commands in its first 40; RESULTS.md at most 300 lines."
    lines = (ROOT/'README.md').read_text().splitlines()
    assert len(lines) <= 150 and all(any(c in l for l in lines[:40]) for c in ('make study', 'make test')), len(lines)
    assert len((ROOT/'benchmarks'/'RESULTS.md').read_text().splitlines()) <= 300


def test_no_markdown_cell_is_over_600_words():
    long = [(p.name, i, n) for p in sorted((ROOT/'nbs').glob('*.ipynb')) for i, c in enumerate(json.loads(p.read_text())['cells'])
            if c['cell_type'] == 'markdown' and (n := len(''.join(c['source']).split())) > 600]
    assert not long, long


def _readme_commands() -> list[list[str]]:
    "The `corepreg ...` lines of README.md's shell blocks, continuation lines joined, comments dropped, split as a shell would."
    import shlex
    blocks = re.findall(r'```sh\n(.*?)```', (ROOT/'README.md').read_text(), re.S)
    lines = [l.split(' #')[0].strip() for b in blocks for l in b.replace('\\\n', ' ').splitlines()]
    return [shlex.split(l)[1:] for l in lines if l.startswith('corepreg ')]


def test_readme_commands_parse():
    "Every `corepreg` command that README.md shows is accepted by the command's own parser, with presets and options that exist."
    from corepreg.cli import parser
    from corepreg.study import STUDY_PRESETS
    cmds = _readme_commands()
    assert {c[0] for c in cmds} >= {'fetch', 'study', 'register'}, cmds
    for argv in cmds:
        args = parser().parse_args(argv)             # exits (SystemExit) on an unknown option or a bad value
        if argv[0] == 'study': assert args.preset in STUDY_PRESETS, argv
    assert any(c[0] == 'study' and 'comir-cpu' in c for c in cmds), 'the primary grid command is missing from README.md'
