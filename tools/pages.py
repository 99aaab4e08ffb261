"""Regenerate the blocks of the pages that are computed from `results/` (`--check`: change nothing, exit 1 where a page differs).

A block sits between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in README.md and in the markdown of nbs/index.ipynb. Today
one block, `answer`: what the study's analysis plan lets the pages say about the question (`corepreg.plan.answer_lines`)."""
import argparse, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ('README.md', 'nbs/index.ipynb')


def blocks(root=ROOT) -> dict:
    "Each generated block's name and its text (without the markers)."
    from corepreg.plan import answer_lines
    return {'answer': '\n'.join(answer_lines(Path(root)/'results'))}


def replace_blocks(text:str, new:dict, where:str) -> str:
    "`text` with each named block's content replaced; a page without a block's markers is an error that names it."
    for name, body in new.items():
        begin, end = f'<!-- {name}:begin -->', f'<!-- {name}:end -->'
        pat = re.compile(re.escape(begin) + r'\n.*?' + re.escape(end), re.S)
        if not pat.search(text): raise SystemExit(f"pages: {where} has no {begin} ... {end} block")
        text = pat.sub(lambda m: f'{begin}\n{body}\n{end}', text)
    return text


def page_update(path:Path, new:dict) -> tuple[str, str]:
    "(old text, new text) of one page: a notebook's markdown cells are rewritten one by one."
    old = path.read_text()
    if path.suffix != '.ipynb': return old, replace_blocks(old, new, str(path))
    nb = json.loads(old); found = set()
    for c in nb['cells']:
        src = ''.join(c['source'])
        names = {n for n in new if f'<!-- {n}:begin -->' in src}
        if c['cell_type'] == 'markdown' and names:
            c['source'] = replace_blocks(src, {n: new[n] for n in names}, str(path)).splitlines(True); found |= names
    if missing := set(new) - found: raise SystemExit(f"pages: {path} has no block {sorted(missing)}")
    return old, json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--check', action='store_true', help='change nothing; exit 1 if a page differs from what results/ gives')
    args = ap.parse_args(argv)
    new, stale = blocks(), []
    for p in PAGES:
        old, text = page_update(ROOT/p, new)
        if old == text: continue
        stale.append(p)
        if not args.check: (ROOT/p).write_text(text)
    if stale: print(('stale: ' if args.check else 'rewrote: ') + ', '.join(stale) + ('  (run `make pages`)' if args.check else ''))
    else: print('pages: every generated block matches results/')
    return 1 if stale and args.check else 0


if __name__ == '__main__':
    sys.exit(main())
