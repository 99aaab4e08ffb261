"The docs build offline (MathML, no CDN, real links, alt text) and `tools/docs_check.py` catches each fault it names."
import json, re, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
import build_docs, docs_check  # noqa: E402


def test_tex_becomes_mathml_outside_code_only():
    store = []
    md = ("Inline $x_i^A$, display $$\\frac{1}{2N}\\sum_i e^{S_{ii}}$$, code `$OUT` and\n```\n$a$ in a block\n```\n"
          "and prices $5 and $10 stay.")
    out = build_docs.tex_to_mathml(md, store)
    assert len(store) == 2 and '`$OUT`' in out and '$a$ in a block' in out and '$5 and $10' in out
    inline, block = sorted(store, key=lambda m: 'display="block"' in m)
    assert inline.startswith('<math') and 'display="inline"' in inline and '<msubsup>' in inline
    assert 'display="block"' in block and '<mfrac>' in block
    page = build_docs.put_back_math(f'<p>{out}</p>', store)
    assert 'corepregmath' not in page and page.count('<math') == 2 and '\\' not in page.replace('\\$', '')


def test_title_code_spans_render_as_code():
    assert build_docs.title_html('The `corepreg` command & <more>') == 'The <code>corepreg</code> command &amp; &lt;more&gt;'


def test_offline_page_rewrites():
    cfg = {'doc_host': 'https://corepreg.github.io', 'doc_baseurl': '/corepreg', 'git_url': 'https://github.com/corepreg/corepreg'}
    page = ('<html><head><script src="https://cdnjs.cloudflare.com/x/require.min.js"></script>'
            '<script type="text/x-mathjax-config">MathJax.Hub.Config({})</script></head><body>'
            '<h3 id="TrainConfig">TrainConfig</h3>'
            '<a href="https://corepreg.github.io/corepreg/train.html#train">train</a>'
            '<a href="https://github.com/corepreg/corepreg/blob/main/corepreg/train.py#L3">source</a>'
            '<a href="12_results.ipynb">results</a><a href="https://doi.org/10.1/x">paper</a>'
            '<div id="cell-id=abc"><img src="data:image/png;base64,AAAA"></div></body></html>')
    out = build_docs.offline(page, {'abc': 'a plot of two lines'}, cfg)
    assert '<script' not in out
    assert 'href="train.html#train"' in out and 'href="results.html"' in out and 'https://doi.org/10.1/x' in out
    assert 'github.com/corepreg' not in out and '>source<' not in out
    assert 'alt="a plot of two lines"' in out and 'id="trainconfig"' in out
    assert build_docs.offline(page, {}, {**cfg, 'source_links': 'True'}).count('github.com/corepreg') == 1


def test_every_committed_figure_has_alt_text():
    "A code cell that draws a figure says what it shows (`#| fig-alt:`), so the built page's image has alt text."
    missing = []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for cell in json.loads(nb.read_text())['cells']:
            if cell['cell_type'] != 'code': continue
            draws = any(k.startswith('image/') for o in cell.get('outputs', []) for k in o.get('data', {}))
            if draws and not re.search(r'^#\|\s*fig-alt:\s*\S', ''.join(cell['source']), re.M):
                missing.append(f"{nb.name}: {''.join(cell['source'])[:60]!r}")
    assert not missing, missing


def _chromium_or_skip():
    pytest.importorskip('playwright', reason='playwright is a dev requirement: make env')
    chromium = docs_check.find_chromium()
    if chromium is None: pytest.skip('Chromium is not installed: `make chromium` (CI installs it)')
    return chromium


FAULTS = {   # page → (html body, the kind of problem docs_check must report)
    'good.html': ('<h2 id="a">A</h2><p>Inline <math><mi>x</mi></math>.</p><a href="bad_link.html#x">ok</a>'
                  '<a href="#a">self</a><img alt="a red dot" src="dot.png"><a href="https://doi.org/10.1/x">paper</a>', None),
    'tex.html': (r'<p>The loss $\frac{1}{N}\sum_i x_i$ is</p><pre>$HOME is fine in code</pre>', 'tex'),
    'mathml_tex.html': (r'<p><math><mi>\foo</mi></math></p>', 'tex'),
    'image.html': ('<img alt="missing" src="nowhere.png">', 'image+console'),    # the browser logs the failed load too
    'alt.html': (f'<img alt="{docs_check.NO_ALT}" src="dot.png">', 'image'),
    'bad_link.html': ('<h2 id="x">X</h2><a href="good.html#nope">a name without an anchor</a>', 'link'),
    'missing_page.html': ('<a href="gone.html">gone</a>', 'link'),
    'placeholder.html': ('<a href="https://github.com/corepreg/corepreg/blob/main/x.py">source</a>', 'link'),
    'request.html': ('<img alt="remote" src="https://example.org/remote.png">', 'request+image+console'),
    'console.html': ('<script>console.error("boom")</script>', 'console'),
    'pageerror.html': ('<script>undefinedFunction()</script>', 'console'),
}


def test_docs_check_reports_each_fault(tmp_path):
    chromium = _chromium_or_skip()
    import base64
    (tmp_path/'dot.png').write_bytes(base64.b64decode(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='))
    for name, (body, _) in FAULTS.items():
        (tmp_path/name).write_text(f'<!doctype html><html><head><title>{name}</title></head><body>{body}</body></html>')
    report = docs_check.check_site(tmp_path, chromium, placeholders=['https://github.com/corepreg/corepreg/'])
    assert set(report) == set(FAULTS)
    for name, (_, kind) in FAULTS.items():
        kinds = {p.split(':')[0] for p in report[name]}
        assert kinds == (set() if kind is None else set(kind.split('+'))), (name, report[name])
    assert any('nowhere.png' in p for p in report['image.html'])
    assert any('#nope' in p for p in report['bad_link.html'])
    assert any('example.org' in p for p in report['request.html'])
    assert any('boom' in p for p in report['console.html'])


def test_docs_check_exit_codes(tmp_path, capsys):
    _chromium_or_skip()
    assert docs_check.main([str(tmp_path)]) == 2                       # no pages: a usage problem, not a pass
    assert 'no .html pages' in capsys.readouterr().err
    (tmp_path/'a.html').write_text('<html><body><p>fine</p></body></html>')
    assert docs_check.main([str(tmp_path)]) == 0
    (tmp_path/'b.html').write_text('<html><body><p>raw $\\alpha$</p></body></html>')
    assert docs_check.main([str(tmp_path)]) == 1
    assert 'b.html: tex' in capsys.readouterr().out
