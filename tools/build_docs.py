"""Render the docs into `_docs/`: `nbdev_docs` where Quarto is installed, otherwise nbdev's processed
notebooks (`_proc/`) turned into HTML pages by nbconvert, with a sidebar built from `_quarto.yml`.

Usage: python tools/build_docs.py [--fallback]   (--fallback skips Quarto even where it exists)
"""
import copy, html, json, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT/'_docs'


def page_name(nb:Path) -> str:
    "nbdev's output name: `00_core.ipynb` -> `core.html`, `index.ipynb` -> `index.html`."
    return re.sub(r'^\d+[a-z]?_', '', nb.stem) + '.html'


def front_matter(cell) -> dict:
    import yaml
    text = ''.join(cell['source']).strip()
    return yaml.safe_load(text.strip('-')) or {} if text.startswith('---') else {}


def translate(nb:dict) -> tuple[dict, dict]:
    "Turn Quarto-only markup into plain notebook markup nbconvert understands; return (notebook, front matter)."
    nb = copy.deepcopy(nb)
    nb.pop('has_sd', None); nb['metadata'].pop('execution', None)
    meta, cells = {}, []
    for cell in nb['cells']:
        cell.get('metadata', {}).pop('execution', None)
        src = ''.join(cell['source'])
        if cell['cell_type'] == 'raw' and src.lstrip().startswith('---'):
            meta = front_matter(cell)
            title = html.escape(str(meta.get('title', '')))
            desc = html.escape(str(meta.get('description', '')))
            cells.append({'cell_type': 'markdown', 'metadata': {}, 'id': cell.get('id', 'fm'),
                          'source': f'<h1 class="title">{title}</h1>\n\n<p class="subtitle">{desc}</p>'})
            continue
        for o in cell.get('outputs', []):             # Pandoc link attributes that nbconvert's markdown shows literally
            md = o.get('data', {}).get('text/markdown')
            if md is not None:
                md = ''.join(md) if isinstance(md, list) else md
                o['data']['text/markdown'] = re.sub(r'\)\{target="_blank"[^}]*\}', ')', md)
        if cell['cell_type'] == 'code':
            lines = src.split('\n')
            directives = [l for l in lines if l.startswith('#|')]
            cell['source'] = '\n'.join(l for l in lines if not l.startswith('#|')).strip('\n')
            tags = cell['metadata'].setdefault('tags', [])
            if any(re.match(r'#\|\s*echo:\s*false', d) for d in directives): tags.append('remove_input')
            if any(re.match(r'#\|\s*(include:\s*false|hide)', d) for d in directives): tags.append('remove_cell')
        cells.append(cell)
    nb['cells'] = cells
    return nb, meta


def sidebar(pages:list[tuple[str, str]], current:str, site_title:str) -> str:
    items = '\n'.join(f'<li class="{"active" if href == current else ""}"><a href="{href}">{html.escape(t.replace("`", ""))}</a></li>'
                      for href, t in pages)
    return (f'<nav class="corepreg-sidebar"><a class="site-title" href="index.html">{html.escape(site_title)}</a>'
            f'<ul>{items}</ul></nav>')


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
    translated = {}
    for p in nbs: translated[p] = translate(json.loads(p.read_text()))
    pages = [(page_name(p), (m.get('title') or p.stem)) for p, (_, m) in translated.items()]
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
    for p, (nb, meta) in translated.items():
        body, _ = exporter.from_notebook_node(nbformat.reads(json.dumps(nb), as_version=4))
        name = page_name(p); title = meta.get('title') or p.stem
        body = re.sub(r'<title>.*?</title>', f'<title>{html.escape(str(title))} – {html.escape(site.get("title", ""))}</title>'
                      '<link rel="stylesheet" href="styles.css">', body, count=1, flags=re.S)
        body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + sidebar(pages, name, site.get('title', 'docs'))
                      + '<div class="corepreg-page">', body, count=1)
        body = body.replace('</body>', '</div></body>')
        (DOCS/name).write_text(body, encoding='utf-8')
    if (ROOT/'nbs'/'images').exists(): shutil.copytree(ROOT/'nbs'/'images', DOCS/'images', dirs_exist_ok=True)
    print(f'wrote {len(translated)} pages to {DOCS.relative_to(ROOT)}/ (nbconvert fallback; Quarto is not installed)')


if __name__ == '__main__':
    if '--fallback' not in sys.argv and shutil.which('quarto'):
        sys.exit(subprocess.call(['nbdev_docs'], cwd=ROOT))
    fallback()
