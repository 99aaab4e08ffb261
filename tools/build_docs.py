"""Render the docs into `_docs/`: `nbdev_docs` where Quarto is installed, otherwise nbdev's processed
notebooks (`_proc/`) turned into HTML pages by nbconvert, with a sidebar built from `_quarto.yml`.

The pages work offline: TeX becomes MathML at build time (latex2mathml; browsers draw MathML themselves), no script
is loaded from a CDN, links into the docs site are made relative, and `[source]` links to `git_url` are dropped
unless `settings.ini` says `source_links = True` (set it once `git_url` names a real public repository). A code
cell's `#| fig-alt: ...` directive (Quarto's) becomes the alt text of the figures it draws.

Usage: python tools/build_docs.py [--fallback]   (--fallback skips Quarto even where it exists)
"""
import configparser, copy, html, json, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT/'_docs'
NO_ALT = 'No description has been provided for this image'     # nbconvert's stand-in; `tools/docs_check.py` refuses it


def settings() -> dict:
    "`settings.ini`'s [DEFAULT] section, with its %(name)s references filled in."
    cp = configparser.ConfigParser(); cp.read(ROOT/'settings.ini')
    return dict(cp['DEFAULT'])


_CODE = re.compile(r'(```.*?```|~~~.*?~~~|(?<!`)(`+)(?!`).*?(?<!`)\2(?!`))', re.S)
_DISPLAY = re.compile(r'\$\$(.+?)\$\$', re.S)
_INLINE = re.compile(r'(?<![\\$])\$(?![\s$])([^$\n]+?)(?<!\s)\$(?!\d)')


def tex_to_mathml(md:str, store:list) -> str:
    """Replace the TeX in markdown `md` (`$...$`, `$$...$$`; not inside code) by placeholders whose MathML is appended to
    `store`. The placeholders are plain words, so the markdown renderer passes them through untouched."""
    from latex2mathml.converter import convert
    def keep(display):
        def sub(m):
            store.append(convert(m.group(1).strip(), display='block' if display else 'inline'))
            return f'corepregmath{len(store) - 1}x'
        return sub
    parts = _CODE.split(md)
    out, i = [], 0
    while i < len(parts):                       # split() interleaves text, code, and the code's backtick group
        out.append(_INLINE.sub(keep(False), _DISPLAY.sub(keep(True), parts[i])))
        if i + 1 < len(parts): out.append(parts[i + 1])
        i += 3
    return ''.join(out)


def put_back_math(page:str, store:list) -> str:
    return re.sub(r'corepregmath(\d+)x', lambda m: store[int(m.group(1))], page)


def page_name(nb:Path) -> str:
    "nbdev's output name: `00_core.ipynb` -> `core.html`, `index.ipynb` -> `index.html`."
    return re.sub(r'^\d+[a-z]?_', '', nb.stem) + '.html'


def front_matter(cell) -> dict:
    import yaml
    text = ''.join(cell['source']).strip()
    return yaml.safe_load(text.strip('-')) or {} if text.startswith('---') else {}


def title_html(title:str) -> str:
    "A page title with its `code` spans as <code> (markdown's backticks would otherwise show literally)."
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(title))


def translate(nb:dict, math:list|None=None) -> tuple[dict, dict, dict]:
    """Turn Quarto-only markup into plain notebook markup nbconvert understands; TeX becomes placeholders whose MathML
    goes to `math`. Return (notebook, front matter, {cell id: fig-alt text})."""
    nb = copy.deepcopy(nb)
    math = [] if math is None else math
    alts = {}
    nb.pop('has_sd', None); nb['metadata'].pop('execution', None)
    meta, cells = {}, []
    for cell in nb['cells']:
        cell.get('metadata', {}).pop('execution', None)
        src = ''.join(cell['source'])
        if cell['cell_type'] == 'raw' and src.lstrip().startswith('---'):
            meta = front_matter(cell)
            title = title_html(str(meta.get('title', '')))
            desc = html.escape(str(meta.get('description', '')))
            cells.append({'cell_type': 'markdown', 'metadata': {}, 'id': cell.get('id', 'fm'),
                          'source': f'<h1 class="title">{title}</h1>\n\n<p class="subtitle">{desc}</p>'})
            continue
        for o in cell.get('outputs', []):             # Pandoc link attributes that nbconvert's markdown shows literally
            md = o.get('data', {}).get('text/markdown')
            if md is not None:
                md = ''.join(md) if isinstance(md, list) else md
                o['data']['text/markdown'] = tex_to_mathml(re.sub(r'\)\{target="_blank"[^}]*\}', ')', md), math)
        if cell['cell_type'] == 'markdown': cell['source'] = tex_to_mathml(src, math)
        if cell['cell_type'] == 'code':
            lines = src.split('\n')
            directives = [l for l in lines if l.startswith('#|')]
            cell['source'] = '\n'.join(l for l in lines if not l.startswith('#|')).strip('\n')
            tags = cell['metadata'].setdefault('tags', [])
            if any(re.match(r'#\|\s*echo:\s*false', d) for d in directives): tags.append('remove_input')
            if any(re.match(r'#\|\s*(include:\s*false|hide)', d) for d in directives): tags.append('remove_cell')
            for d in directives:
                m = re.match(r'#\|\s*fig-alt:\s*(.+)', d)
                if m: alts[cell.get('id')] = m.group(1).strip().strip('"\'')
        cells.append(cell)
    nb['cells'] = cells
    return nb, meta, alts


def offline(page:str, alts:dict, cfg:dict) -> str:
    """Make a built page self-contained: no CDN scripts (MathJax, require.js, mermaid), links into the docs site made
    relative, `[source]` links to the (not yet public) repository dropped, and each figure's alt text from its cell's
    `#| fig-alt:`. Figures without one keep nbconvert's stand-in, which `docs_check.py` reports."""
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(page, 'html.parser')
    for s in soup.find_all('script'):
        if s.get('src', '').startswith('http') or 'x-mathjax-config' in s.get('type', '') or 'cdnjs' in (s.string or ''):
            s.decompose()
    site = cfg.get('doc_host', '').rstrip('/') + '/' + cfg.get('doc_baseurl', '').strip('/') + '/'
    git = cfg.get('git_url', '').rstrip('/')
    keep_source = cfg.get('source_links', 'False').lower() == 'true'
    for a in soup.find_all('a', href=True):
        if site != '/' and a['href'].startswith(site): a['href'] = a['href'][len(site):] or 'index.html'
        elif git and a['href'].startswith(git) and not keep_source: a.decompose()
        elif re.match(r'^[\w.-]+\.ipynb(#|$)', a['href']):                  # a link to a notebook: to its page
            nb_name, _, frag = a['href'].partition('#')
            a['href'] = page_name(Path(nb_name)) + (f'#{frag}' if frag else '')
    ids = {t['id'] for t in soup.find_all(id=True)}
    for h in soup.find_all(re.compile(r'^h[1-6]$'), id=True):         # Quarto's (and nbdev's links') lower-case ids
        low = h['id'].lower()
        if low not in ids:
            h.insert(0, soup.new_tag('span', id=low)); ids.add(low)
    for cid, alt in alts.items():
        cell = soup.find(id=f'cell-id={cid}')
        for img in (cell.find_all('img') if cell else []): img['alt'] = alt
    return str(soup)


def sidebar(pages:list[tuple[str, str]], current:str, site_title:str) -> str:
    items = '\n'.join(f'<li class="{"active" if href == current else ""}"><a href="{href}">{html.escape(t.replace("`", ""))}</a></li>'
                      for href, t in pages)
    return (f'<nav class="corepreg-sidebar"><a class="site-title" href="index.html">{html.escape(site_title)}</a>'
            f'<ul>{items}</ul></nav>')


def unlink_missing_anchors(docs:Path) -> int:
    """nbdev links every name in its index, private helpers too, though only documented names get an anchor: such a
    link (`page.html#name` with no element `name` in `page.html`) becomes its plain text. Returns how many."""
    from bs4 import BeautifulSoup
    pages = {p.name: p.read_text(encoding='utf-8') for p in docs.glob('*.html')}
    ids = {n: set(re.findall(r'\sid="([^"]*)"', t)) for n, t in pages.items()}
    dropped = 0
    for name, text in pages.items():
        soup, n = BeautifulSoup(text, 'html.parser'), 0
        for a in soup.find_all('a', href=re.compile(r'^[\w.-]*#')):
            target, frag = a['href'].split('#', 1)
            if (target or name) in ids and frag not in ids[target or name]: a.unwrap(); n += 1
        if n: (docs/name).write_text(str(soup), encoding='utf-8'); dropped += n
    return dropped


def fallback():
    import nbformat, yaml
    from nbconvert import HTMLExporter
    from nbdev.serve import proc_nbs
    proc = Path(proc_nbs(force=True))
    cfg = yaml.safe_load((proc/'_quarto.yml').read_text())
    site = cfg.get('website', {})
    order = site.get('sidebar', {}).get('contents') or sorted(p.name for p in proc.glob('*.ipynb'))
    nbs = [proc/n for n in order if (proc/n).exists()]
    nbs += sorted(p for p in proc.glob('*.ipynb') if p not in nbs)
    translated, math, cfg = {}, [], settings()
    for p in nbs: translated[p] = translate(json.loads(p.read_text()), math)
    pages = [(page_name(p), (m.get('title') or p.stem)) for p, (_, m, _) in translated.items()]
    from traitlets.config import Config
    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    c.TagRemovePreprocessor.remove_cell_tags = {'remove_cell'}
    exporter = HTMLExporter(config=c, template_name='lab', exclude_input_prompt=True, exclude_output_prompt=True)
    if DOCS.exists(): shutil.rmtree(DOCS)
    DOCS.mkdir()
    css = ROOT/'nbs'/'styles.css'
    if css.exists(): shutil.copy(css, DOCS/'styles.css')
    for p, (nb, meta, alts) in translated.items():
        body, _ = exporter.from_notebook_node(nbformat.reads(json.dumps(nb), as_version=4))
        name = page_name(p); title = str(meta.get('title') or p.stem).replace('`', '')
        body = re.sub(r'<title>.*?</title>', f'<title>{html.escape(title)} – {html.escape(site.get("title", ""))}</title>'
                      '<link rel="stylesheet" href="styles.css">', body, count=1, flags=re.S)
        body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + sidebar(pages, name, site.get('title', 'docs'))
                      + '<div class="corepreg-page">', body, count=1)
        body = put_back_math(offline(body.replace('</body>', '</div></body>'), alts, cfg), math)
        (DOCS/name).write_text(body, encoding='utf-8')
    dropped = unlink_missing_anchors(DOCS)
    if dropped: print(f'{dropped} links to names without a documented anchor (private helpers) left as plain code')
    if (ROOT/'nbs'/'images').exists(): shutil.copytree(ROOT/'nbs'/'images', DOCS/'images', dirs_exist_ok=True)
    print(f'wrote {len(translated)} pages to {DOCS.relative_to(ROOT)}/ (nbconvert fallback; Quarto is not installed)')


if __name__ == '__main__':
    if '--fallback' not in sys.argv and shutil.which('quarto'):
        sys.exit(subprocess.call(['nbdev_docs'], cwd=ROOT))
    fallback()
