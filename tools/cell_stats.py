#!/usr/bin/env python
"""How the notebooks read: lines and definitions per exporting cell, and exported functions over 40 lines.

Usage: python tools/cell_stats.py [--max-median 10] [--max-function 40]
A line counts when it is neither blank nor an nbdev directive (`#| ...`). Exits 1 when a limit is exceeded.
"""
import argparse, ast, glob, json, re, statistics, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export_cells(nb_path:Path) -> list[str]:
    "The sources of a notebook's exporting cells, without their directives."
    cells = json.loads(nb_path.read_text())['cells']
    srcs = [''.join(c['source']) for c in cells if c['cell_type'] == 'code']
    return ['\n'.join(l for l in s.splitlines() if not l.startswith('#|')) for s in srcs if re.search(r'^#\|\s*export', s, re.M)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--max-median', type=float, default=10); ap.add_argument('--max-function', type=int, default=40)
    a = ap.parse_args()
    lines, defs = [], []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for body in export_cells(nb):
            lines.append(sum(1 for l in body.splitlines() if l.strip()))
            defs.append(sum(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in ast.parse(body).body))
    long = [(f.name, n.name, n.end_lineno - n.lineno + 1) for f in sorted((ROOT/'corepreg').glob('*.py')) if not f.name.startswith('_')
            for n in ast.walk(ast.parse(f.read_text())) if isinstance(n, ast.FunctionDef) and n.end_lineno - n.lineno + 1 > a.max_function]
    med = statistics.median(lines)
    print(f"exporting cells: {len(lines)}; lines per cell: median {med:g}, mean {statistics.mean(lines):.1f}; "
          f"definitions per cell: mean {statistics.mean(defs):.2f}, cells with 2 or more: {sum(d >= 2 for d in defs)}")
    print(f"exported functions over {a.max_function} lines: " + (', '.join(f'{m}:{n} ({k})' for m, n, k in long) or 'none'))
    return 0 if med <= a.max_median and not long else 1


if __name__ == '__main__':
    sys.exit(main())
