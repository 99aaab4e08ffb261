"""Regenerate the pages' parts that come from `results/` and from the home page (`--check`: change nothing, exit 1 where a page differs).

- Blocks: text between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in the markdown of the pages below, written by the
  analysis plan's code (`corepreg.plan`): `answer` (every family's intervals) and `short-answer` (at most five lines).
- README.md: generated from `nbs/index.ipynb` (what `nbdev_readme` would do with Quarto, which is not installable here):
  its markdown cells in order, less those that start with `<!-- home page only -->`; a figure cell becomes a link to
  the image it saves (`savefig('images/x.png')`); links to chapters and images are made relative to the repository.

`make pages` also re-executes the home page and the chapters that quote `results/` before this runs (the Makefile)."""
import argparse, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ('nbs/index.ipynb',)
HOME_ONLY = '<!-- home page only -->'
HEADER = '<!-- generated from nbs/index.ipynb by `make pages` (tools/pages.py): edit the notebook, not this file -->'


def blocks(root=ROOT) -> dict:
    "Each generated block's name and its text (without the markers)."
    from corepreg.plan import answer_lines, short_answer
    res = Path(root)/'results'
    return {'answer': '\n'.join(answer_lines(res)), 'short-answer': '\n'.join(short_answer(res))}


def replace_blocks(text:str, new:dict) -> tuple[str, set]:
    "`text` with each named block present in it replaced, and the names found."
    found = set()
    for name, body in new.items():
        begin, end = f'<!-- {name}:begin -->', f'<!-- {name}:end -->'
        pat = re.compile(re.escape(begin) + r'\n.*?' + re.escape(end), re.S)
        if pat.search(text): found.add(name); text = pat.sub(lambda m: f'{begin}\n{body}\n{end}', text)
    return text, found


def fill_notebook(text:str, new:dict) -> tuple[str, set]:
    "A notebook's text with the blocks in its markdown cells filled from `new`, and the names found."
    nb = json.loads(text); found = set()
    for c in nb['cells']:
        if c['cell_type'] != 'markdown': continue
        filled, names = replace_blocks(''.join(c['source']), new)
        if names: c['source'] = filled.splitlines(True); found |= names
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n", found


def notebook_update(path:Path, new:dict) -> tuple[str, str]:
    "(old text, new text) of a notebook whose markdown cells hold blocks; a block named nowhere in the home page is an error."
    old = path.read_text(); text, found = fill_notebook(old, new)
    if path.name == 'index.ipynb' and (missing := set(new) - found):
        raise SystemExit(f"pages: {path} has no block {sorted(missing)} (<!-- name:begin --> ... <!-- name:end -->)")
    return old, text


def _relative(md:str) -> str:
    "Links to a chapter or an image of nbs/, as the README (at the repository's root) reaches them."
    return re.sub(r'\]\((?!https?:|#)([\w.-]+\.ipynb|images/[^)]+)', r'](nbs/\1', md)


def readme_from(index_text:str) -> str:
    "README.md from the home page's notebook text (blocks already filled)."
    parts = [HEADER]
    for c in json.loads(index_text)['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            if not src.lstrip().startswith(HOME_ONLY): parts.append(_relative(src.strip()))
        elif (fig := re.search(r"savefig\('(images/[^']+)'", src)):
            alt = re.search(r'#\|\s*fig-alt:\s*(.+)', src)
            parts.append(f"![{alt.group(1).strip() if alt else 'figure'}](nbs/{fig.group(1)})")
    return '\n\n'.join(parts) + '\n'


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--check', action='store_true', help='change nothing; exit 1 if a page differs from what results/ and the home page give')
    args = ap.parse_args(argv)
    new, stale, texts = blocks(), [], {}
    for p in PAGES:
        old, text = notebook_update(ROOT/p, new); texts[p] = text
        if old != text: stale.append(p)
    readme = readme_from(texts['nbs/index.ipynb'])
    if (ROOT/'README.md').read_text() != readme: stale.append('README.md')
    if not args.check:
        for p in stale: (ROOT/p).write_text(readme if p == 'README.md' else texts[p])
    if stale: print(('stale: ' if args.check else 'rewrote: ') + ', '.join(stale) + ('  (run `make pages`)' if args.check else ''))
    else: print('pages: every generated part matches results/ and the home page')
    return 1 if stale and args.check else 0


if __name__ == '__main__':
    sys.exit(main())
