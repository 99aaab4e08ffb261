"""Ablation: network B in colour, chosen again on validation cores inside fold 2's training half (the plan's amendment 1).

The colour choice of the study's recipe was first made on held-out cores of both folds. The analysis plan's amendment 1
(chapter *The analysis plan*, committed before this script ran) makes it again where the confirmatory fold allows: on
fold 2's 3 validation images inside its training half (`DataConfig.val_images`), never on its held-out cores.

- **colour** (the inherited choice): CoMIR's network with `comir-cpu`'s recipe, B the colour bright-field, seed 0. This is the
  time-to-quality benchmark's `reference` run of fold 2; its final checkpoint judged by the sharper measure is read from
  `benchmarks/results_time_to_quality_f2.json` (`recipes.reference.final_sharp`).
- **grey** (the alternative): the same, with B the grey bright-field (`comparison/truth`), no colour jitter. Trained here
  (checkpoints every 250 steps in `runs/colour-recheck/`, resumable), then judged by the same measure: `ssd` and `fftmi`
  success on the validation images' 120 pairs (10 patches × 4 levels × 3 images), validation r over 512 patches.

Rule (the plan's, written before this ran): grey replaces colour only if its `ssd` success is higher by more than 0.025, or
within 0.025 with its validation r higher by more than 0.02; otherwise colour stands. The result, with the rule's outcome,
goes to `results/ablations/colour_recheck.json` (written atomically).

Usage (from the repository root, with the colour bright-field made by `corepreg align-colour ... --out runs/uwloci-he-rgb`):
    python ablations/colour_recheck.py [--threads 1] [--smoke]
"""
import argparse, importlib.util, json, os, platform, sys
from pathlib import Path

from corepreg.core import save_json
from corepreg.datasets import data_root
from corepreg.guard import git_commit
from corepreg.plan import colour_rule

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT/'results'/'ablations'/'colour_recheck.json'
SSD_TOL, R_TOL = colour_rule.__defaults__   # the plan's tolerances, stated once in corepreg.plan


def _bench():
    "The time-to-quality benchmark as a module: its validation set and its judge are the measure this choice is made by."
    spec = importlib.util.spec_from_file_location('bench_time_to_quality', ROOT/'benchmarks'/'bench_time_to_quality.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def grey_args(bench) -> list[str]:
    "The benchmark's study arguments with B in grey: `comparison/truth` and no `--colour-b`."
    args = [a for a in bench.STUDY_ARGS if a != '--colour-b']
    args[args.index('--b') + 1] = str(data_root()/'uwloci-shg-he'/'comparison'/'truth')
    return args


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--fold', type=int, default=2, help='the confirmatory fold (default 2)')
    ap.add_argument('--threads', type=int, help="torch threads (default: torch's own)")
    ap.add_argument('--out', default='runs/colour-recheck', help='checkpoints (default runs/colour-recheck)')
    ap.add_argument('--smoke', action='store_true', help='the tiny network, 40 steps, 12 pairs: checks the machinery, writes nothing to results/')
    args = ap.parse_args(argv)
    commit = git_commit()   # the code that runs, taken before it runs
    if args.threads:
        import torch; torch.set_num_threads(args.threads)
    bench = _bench()
    ref = json.loads((ROOT/'benchmarks'/f'results_time_to_quality_f{args.fold}.json').read_text())['recipes']['reference']
    colour = ref['final_sharp']
    bench.STUDY_ARGS = grey_args(bench)                  # cell_config builds the benchmark's cell from these
    cfg = bench.cell_config(args.fold, ref['changes'], 3, 'tiny' if args.smoke else 'comir')
    if args.smoke: cfg = cfg.replace(steps=40)
    cfg = cfg.replace(checkpoint_every=250, val_every=0)
    from corepreg.train import read_log, train
    run_dir = Path(args.out + ('-smoke' if args.smoke else ''))/f'f{args.fold}-grey'
    train(cfg, run_dir, device='cpu', progress=sys.stderr.isatty())
    records = bench.validation_set(cfg, crops=1 if args.smoke else colour['pairs'] // 12)
    r_patches = 32 if args.smoke else colour['r_patches']
    grey = {'step': cfg.optim.steps, 'pairs': len(records), 'r_patches': r_patches, **bench.judge(run_dir, records, cfg, r_patches=r_patches)}
    result = {'command': 'python ablations/colour_recheck.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
              'commit': commit, 'machine': f"{platform.machine()}, {os.cpu_count()} cores", 'fold': args.fold,
              'rule': f"grey replaces colour only if its ssd success is higher by more than {SSD_TOL}, or within {SSD_TOL} "
                      f"with its validation r higher by more than {R_TOL}",
              'colour': {**colour, 'source': f'benchmarks/results_time_to_quality_f{args.fold}.json: recipes.reference.final_sharp'},
              'grey': {**grey, 'b': 'comparison/truth', 'train_minutes': round(sum(r.get('seconds', 0) for r in read_log(run_dir)) / 60, 1)},
              'decision': colour_rule(colour, grey)}
    print(json.dumps(result, indent=1))
    if not args.smoke: save_json(OUT, result)


if __name__ == '__main__':
    main()
