"""Draw chosen evaluation images of a study cell beside their CoMIRs, and measure how alike the two CoMIRs are per image.

A study's report lists each evaluation image's success (`image_lines`); this shows what the hard ones look like. It needs
the cell's checkpoint (the study's `runs/` folder, which is not committed), so its output is committed beside the study.

Usage: python tools/comir_images.py RUN_DIR STUDY_DIR --names NAME [NAME ...] --out PATH [--dataset folder] [--fold 1]
Writes PATH.png (the figure) and PATH.json (the command, commit, per-patch and per-image Pearson r of the CoMIRs).
"""
import argparse, io, json, sys
from pathlib import Path

from corepreg.core import atomic_write
from corepreg.infer import Representer
from corepreg.study import StudyGrid, comir_correlations, comir_figure, eval_set, git_commit


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('run_dir'); p.add_argument('study_dir')
    p.add_argument('--names', nargs='+', required=True, help='evaluation images to draw (their first patch each)')
    p.add_argument('--out', required=True, help='output path without suffix: PATH.png and PATH.json are written')
    p.add_argument('--dataset', default='folder'); p.add_argument('--fold', type=int, default=1)
    a = p.parse_args(argv)
    grid = StudyGrid.from_json(Path(a.study_dir)/'grid.json')
    records, rep = eval_set(grid, a.dataset, a.fold), Representer(a.run_dir)
    cr = comir_correlations(rep, records)
    fig = comir_figure(rep, records, names=a.names)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO(); fig.savefig(buf, format='png', dpi=70); atomic_write(out.with_suffix('.png'), buf.getvalue())
    info = {'command': 'python tools/comir_images.py ' + ' '.join(argv if argv is not None else sys.argv[1:]), 'commit': git_commit(),
            'run_dir': str(a.run_dir), 'names': a.names, 'pairs_evaluated': len(records),
            'r_per_image': cr.groupby('name').r.mean().round(4).to_dict(),
            'r_per_patch': [{'name': r.name, 'offset': list(r.offset), 'r': round(float(r.r), 4)} for r in cr.itertuples()]}
    atomic_write(out.with_suffix('.json'), json.dumps(info, indent=1) + '\n')
    print(json.dumps(info['r_per_image'], indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
