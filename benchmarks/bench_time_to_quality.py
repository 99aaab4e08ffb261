"""Time to quality: how many minutes of training CoMIR's network needs to reach the reference quality, per recipe.

Each recipe trains the study's plain CoMIR cell (`corepreg study --data folder ... --colour-b --preset standard --model
comir`, MSE critic, seed 0) on one fold's training half **minus `--val-images` validation images**, drawn inside that
half by `DataConfig.val_images`. Every `--every` steps it stops, and the networks are judged on those validation
images only, never on the held-out half that a study grid evaluates: the trainer's validation r (mean Pearson r of the
two CoMIRs of fixed validation patch pairs), and the share of validation pairs (the MultiRegEval levels 1-4 on 256-px
patches) that `ssd` and `fftmi` register. Minutes are the trainer's own step seconds, summed: validation is not counted.

The reference quality is the `reference` recipe's final r and success (the 2 250-step bfloat16 recipe that reached
held-out r 0.67 / 0.62), minus a stated tolerance: r within `--r-tol` (0.02) and success within `--pairs-tol` pairs
(1). A recipe's time to quality is the first validation point at which all three measures reach it; `at_end` says whether its
last point (its whole schedule, as a preset would train it) reaches it. The rule that picks the preset, written before
the candidates ran: the recipe with the fewest minutes whose last point reaches the target on both folds' validation
images.

Results: `--json` (default benchmarks/results_time_to_quality.json, rewritten atomically after every validation point,
so a killed run keeps its curve and a rerun resumes from the checkpoints in `--out`), and a plot of quality against
minutes, one line per recipe (`--plot`).

Usage (from the repository root, with the colour bright-field made by `corepreg align-colour ... --out runs/uwloci-he-rgb`;
run alone on the cores, since the minutes are the measurement; or with `--idle-step-seconds S`, S the trainer's median step
measured alone on idle cores, so that minutes count steps at that rate: for runs that share the cores (`--threads 1` each),
and to put a curve measured before a faster step on the same scale):
    python benchmarks/bench_time_to_quality.py --fold 1 --recipes reference
    python benchmarks/bench_time_to_quality.py --fold 1 --recipes reference,short --every 250
    python benchmarks/bench_time_to_quality.py --fold 2 --recipes reference --threads 1 --idle-step-seconds 1.175 \
        --json benchmarks/results_time_to_quality_f2.json --plot benchmarks/time_to_quality_f2.png
    python benchmarks/bench_time_to_quality.py --smoke      # a two-minute check of the machinery with the tiny network
    python benchmarks/bench_time_to_quality.py --fold 1 --rejudge q800,q1000,reference   # the sharper measure, below

The sharper measure (`--rejudge`, written before any recipe was judged by it). With 36 validation pairs one pair is 0.028
of success, and validation r over 64 patches moved 0.1-0.2 between points: noisier than the tolerance, so the first
rule could not tell the recipes apart. `--rejudge` trains nothing: it judges each named recipe's *final* checkpoint
again on the same validation images with `--val-crops` (10) patches a level, i.e. 120 pairs, and validation r over
`--val-r-patches` (512) patches; the target is the reference's final point so judged, minus r 0.02 and success 0.025
(one pair in 40, the tolerance the issue names). The preset is the recipe with the fewest minutes whose final point
reaches that target on both folds; the reference itself reaches it by construction, so the rule always names one, and
the 20-minute bar is met only if that recipe trains in 20 minutes or less.
"""
import argparse, dataclasses, json, os, platform, resource, sys
from pathlib import Path

from corepreg.core import save_json
from corepreg.study import git_commit

STUDY_ARGS = ['study', '--data', 'folder', '--a', '../shared/data/uwloci-shg-he/Input/SHG_512_not_adjusted', '--b', 'runs/uwloci-he-rgb',
              '--colour-b', '--preset', 'standard', '--model', 'comir', '--supervision', 'none', '--critics', 'mse', '--amp', 'on']

# Each recipe: the changes it makes to the reference cell's TrainConfig (optim fields by name), and the question it answers.
RECIPES = {
    'reference': ({'steps': 2250}, "the 2 250-step bfloat16 recipe (AdamW 1e-3, warm-up 100, cosine)"),
    'short': ({'steps': 1100}, "the same schedule compressed into half the steps"),
    'short-lr2': ({'steps': 1100, 'lr': 2e-3}, "half the steps at twice the learning rate"),
    'short-warm': ({'steps': 1100, 'lr': 2e-3, 'warmup': 50}, "half the steps, twice the rate, half the warm-up"),
    # Written before the reference's last points were seen: schedules that fit 20 minutes at about 1.4 s a step.
    'q800': ({'steps': 800, 'warmup': 50}, "the schedule in 800 steps (about 19 minutes), half the warm-up"),
    'q800-lr2': ({'steps': 800, 'lr': 2e-3, 'warmup': 50}, "800 steps at twice the learning rate, half the warm-up"),
    # Added after q800 missed the fold-1 target's r by 0.02 and q800-lr2 fell further behind, before any 1 000-step point was
    # seen: the same schedule in the most steps that fit 20 minutes at the trainer's 1.18 s a step.
    'q1000': ({'steps': 1000, 'warmup': 50}, "the schedule in 1 000 steps (about 19.6 minutes), half the warm-up"),
}


def cell_config(fold:int, changes:dict, val_images:int, model:str='comir'):
    "The study's plain fold cell with CoMIR's network, `changes` to its optimiser, and `val_images` validation images."
    from corepreg.cli import grid_from_args, parser
    from corepreg.study import Cell, train_config
    grid = grid_from_args(parser().parse_args(STUDY_ARGS))
    cfg = train_config(grid, Cell('folder', fold, 0, 'none', 'mse'))
    cfg = cfg.replace(model=model, data=cfg.data.replace(val_images=val_images))
    return cfg.replace(**changes)


def validation_set(cfg, patch:int=256, crops:int=3):
    "The validation images' evaluation pairs: each image's `crops` patches at the four MultiRegEval levels (as the study builds its own)."
    from corepreg.data import make_eval_set
    from corepreg.datasets import source_pairs
    pairs = source_pairs(cfg.data.replace(image_size=420), 'val')
    return make_eval_set(pairs, patch=patch, levels=(1, 2, 3, 4), seed=100 + cfg.data.fold, crops=crops)


def judge(run_dir:Path, records:list, cfg, methods=('ssd', 'fftmi'), r_patches:int=64) -> dict:
    "Validation r on the trainer's fixed validation patches, and each method's success on the validation pairs."
    import torch
    from corepreg.evaluate import evaluate
    from corepreg.infer import Representer
    from corepreg.train import validate, validation_patches
    rep = Representer(run_dir)
    xa, xb = validation_patches(cfg, r_patches)
    with torch.no_grad():   # in batches of 64 patches: CoMIR's network on 512 at once needs tens of GB
        rs = [validate(rep.models['A'].net, rep.models['B'].net, xa[i:i+64], xb[i:i+64], cfg.loss.critic)['val_r'] * len(xa[i:i+64])
              for i in range(0, len(xa), 64)]
    comirs = [dataclasses.replace(r, fixed=rep(r.fixed, 'A'), moving=rep(r.moving, 'B')) for r in records]
    return {'r': round(sum(rs) / len(xa), 4), **{m: float(evaluate(comirs, m, progress=False, workers=2)['success'].mean()) for m in methods}}


def run_recipe(name:str, args, out:Path, record:dict, write) -> list:
    "Train one recipe in chunks of `--every` steps (resuming), judging after each; the curve (minutes → quality)."
    from corepreg.train import read_log, train
    changes, _ = RECIPES[name]
    cfg = cell_config(args.fold, changes, args.val_images, args.model)
    if args.smoke: cfg = cfg.replace(steps=min(cfg.optim.steps, 40))
    cfg = cfg.replace(checkpoint_every=args.every, val_every=0)
    records, run_dir = validation_set(cfg), out/f'f{args.fold}-{name}'
    rec = record['recipes'].setdefault(name, {'changes': changes, 'curve': []})
    rec.update(command=record['command'], commit=record['commit'], threads=args.threads)
    curve = rec['curve']
    done = {p['step'] for p in curve}
    for stop in list(range(args.every, cfg.optim.steps, args.every)) + [cfg.optim.steps]:
        train(cfg, run_dir, device='cpu', stop_at=stop, progress=sys.stderr.isatty())
        if stop in done: continue
        log = read_log(run_dir)
        minutes = sum(r.get('seconds', 0) for r in log) / 60   # as measured (other work on the cores counts in it)
        curve.append({'step': stop, 'minutes': round(minutes, 2), **judge(run_dir, records, cfg)})
        print(f"{name} step {stop}: {curve[-1]}", flush=True)
        write()
    rec['pairs'] = len(records)
    rec['peak_rss_mb'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)   # this process's, so far
    return curve


def rejudge(name:str, args, out:Path, record:dict):
    "The sharper measure: a finished recipe's final checkpoint judged on `--val-crops` pairs a level and `--val-r-patches` patches."
    rec = record['recipes'].get(name)
    if not rec or 'pairs' not in rec: raise SystemExit(f"recipe {name!r} has not run all its steps on fold {args.fold} (in {args.json})")
    cfg = cell_config(args.fold, RECIPES[name][0], args.val_images, args.model)
    records = validation_set(cfg, crops=args.val_crops)
    step = rec['curve'][-1]['step']
    rec['final_sharp'] = {'step': step, 'pairs': len(records), 'r_patches': args.val_r_patches,
                          **judge(out/f'f{args.fold}-{name}', records, cfg, r_patches=args.val_r_patches)}
    print(f"{name} step {step}, sharper measure: {rec['final_sharp']}", flush=True)


def sharp_summary(record:dict, r_tol:float=0.02, success_tol:float=0.025) -> dict:
    "The sharper measure's target (the reference's final point minus the tolerances) and which recipes' final points reach it."
    ref = record['recipes'].get('reference', {}).get('final_sharp')
    if not ref: return {}
    target = {'r': ref['r'] - r_tol, 'ssd': ref['ssd'] - success_tol, 'fftmi': ref['fftmi'] - success_tol}
    judged = {n: rec for n, rec in record['recipes'].items() if 'final_sharp' in rec}
    return {'target': target, 'r_tol': r_tol, 'success_tol': success_tol,
            'at_end': {n: {'minutes': minutes(record, rec['curve'][-1]), **{k: rec['final_sharp'][k] for k in target},
                           'reaches': all(rec['final_sharp'][k] >= v - 1e-9 for k, v in target.items())} for n, rec in judged.items()}}


def minutes(record:dict, point:dict) -> float:
    "A validation point's training minutes: its steps at the file's idle-core step time where one is set, else as measured."
    s = record.get('idle_step_seconds')
    return round(point['step'] * s / 60, 2) if s else point['minutes']


def time_to_quality(record:dict, r_tol:float, pairs_tol:int) -> dict:
    "The reference quality (its final point, minus the tolerances) and each recipe's first minute at which it is reached."
    ref = record['recipes'].get('reference', {}).get('curve')
    if not ref: return {}
    if 'pairs' not in record['recipes']['reference']:   # set when the reference has run all its steps: no target before
        return {'note': f"the reference curve is not finished (last point: step {ref[-1]['step']}); no target yet"}
    n = record['recipes']['reference'].get('pairs', 0) or 1
    target = {'r': ref[-1]['r'] - r_tol, 'ssd': ref[-1]['ssd'] - pairs_tol / n, 'fftmi': ref[-1]['fftmi'] - pairs_tol / n}
    ok = lambda p: all(p[k] >= v - 1e-9 for k, v in target.items())
    reach = {name: next((minutes(record, p) for p in rec['curve'] if ok(p)), None) for name, rec in record['recipes'].items()}
    done = {name: rec for name, rec in record['recipes'].items() if 'pairs' in rec}   # recipes that ran all their steps
    at_end = {name: {'minutes': minutes(record, rec['curve'][-1]), 'reaches': ok(rec['curve'][-1])} for name, rec in done.items()}
    return {'target': target, 'minutes_to_quality': reach, 'at_end': at_end}


def plot(record:dict, path:Path):
    "Quality against minutes, one line per recipe: validation r, `ssd` and `fftmi` success."
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, 3, figsize=(12, 3.4), layout='constrained')
    for name, rec in record['recipes'].items():
        c = rec['curve']
        for ax, k in zip(axs, ('r', 'ssd', 'fftmi')):
            line, = ax.plot([minutes(record, p) for p in c], [p[k] for p in c], marker='o', label=name)
            if 'final_sharp' in rec:   # the final point judged again by the sharper measure: a star of the same colour
                ax.plot([minutes(record, c[-1])], [rec['final_sharp'][k]], marker='*', ms=13, color=line.get_color(), ls='none')
    for ax, k in zip(axs, ('validation r', '`ssd` success', '`fftmi` success')):
        ax.set_xlabel('training minutes' + (f" ({record['idle_step_seconds']} s a step)" if record.get('idle_step_seconds') else ''))
        ax.set_title(k, fontsize=9)
    t, ts = record.get('summary', {}).get('target', {}), record.get('summary_sharp', {}).get('target', {})
    for ax, k in zip(axs, ('r', 'ssd', 'fftmi')):
        if k in t: ax.axhline(t[k], color='k', ls=':', lw=1)          # the first rule's target (36 pairs)
        if k in ts: ax.axhline(ts[k], color='k', ls='--', lw=1)       # the sharper measure's (stars: 120 pairs, r over 512 patches)
    axs[0].legend(fontsize=8)
    fig.savefig(path, dpi=90)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--fold', type=int, default=1)
    ap.add_argument('--recipes', default='reference', help=f"comma-separated, of {sorted(RECIPES)}")
    ap.add_argument('--val-images', type=int, default=3, help='validation images inside the training half (default 3 of 10)')
    ap.add_argument('--every', type=int, default=250, help='steps between validation points')
    ap.add_argument('--model', default='comir')
    ap.add_argument('--r-tol', type=float, default=0.02); ap.add_argument('--pairs-tol', type=int, default=1)
    ap.add_argument('--out', default='runs/time-to-quality'); ap.add_argument('--json', default='benchmarks/results_time_to_quality.json')
    ap.add_argument('--plot', default='benchmarks/time_to_quality.png')
    ap.add_argument('--threads', type=int, help='torch threads (default: torch\'s own, 2 here)')
    ap.add_argument('--idle-step-seconds', type=float, help="minutes = steps x this / 60 for every recipe of the file: the "
                    "trainer's median step measured alone on idle cores (benchmarks/bench_comir_reference.py; every recipe here has "
                    "the same step), for runs that share the cores or ran before a faster step")
    ap.add_argument('--summarise', action='store_true', help='no training: the summary and the plot again from the file')
    ap.add_argument('--rejudge', help='comma-separated finished recipes: no training, their final checkpoints judged by the sharper measure')
    ap.add_argument('--val-crops', type=int, default=10, help='--rejudge: patches a level per validation image (default 10: 120 pairs)')
    ap.add_argument('--val-r-patches', type=int, default=512, help='--rejudge: patches for validation r (default 512)')
    ap.add_argument('--smoke', action='store_true', help='the tiny network, 40 steps, validated every 20: checks the machinery only')
    args = ap.parse_args(argv)
    names = (args.rejudge or args.recipes).split(',')
    if bad := [n for n in names if n not in RECIPES]: ap.error(f"unknown recipe(s) {bad}; valid: {sorted(RECIPES)}")
    if args.smoke:   # never over the measured files
        args.model, args.every, args.out = 'tiny', 20, args.out + '-smoke'
        args.json, args.plot = '/tmp/time_to_quality_smoke.json', '/tmp/time_to_quality_smoke.png'
    if args.threads:
        import torch; torch.set_num_threads(args.threads)
    path = Path(args.json)
    record = json.loads(path.read_text()) if path.exists() and not args.smoke else {}
    mine = names   # the recipes this process writes: another process's curves of the file are kept
    if args.summarise or args.rejudge: names = []
    else: record.update({'command': 'python benchmarks/bench_time_to_quality.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
                   'commit': git_commit(), 'machine': f"{platform.machine()}, {os.cpu_count()} cores", 'fold': args.fold,
                   'val_images': args.val_images, 'model': args.model})
    record.setdefault('recipes', {})
    if args.idle_step_seconds: record['idle_step_seconds'] = args.idle_step_seconds
    def write():   # another process may run other recipes of this fold into the same file: keep its curves
        if path.exists() and not args.smoke:
            disk = json.loads(path.read_text()).get('recipes', {})
            record['recipes'].update({k: v for k, v in disk.items() if k not in mine})
        record['summary'] = time_to_quality(record, args.r_tol, args.pairs_tol)
        if sharp := sharp_summary(record): record['summary_sharp'] = sharp
        save_json(path, record)
    for name in names:
        run_recipe(name, args, Path(args.out), record, write)
    if args.rejudge: record['rejudge'] = {'command': 'python benchmarks/bench_time_to_quality.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
                                          'commit': git_commit()}
    for name in (args.rejudge.split(',') if args.rejudge else []):
        rejudge(name, args, Path(args.out), record); write()
    write(); plot(record, Path(args.plot))
    print(record['summary'] or 'no reference curve yet: run --recipes reference first')


if __name__ == '__main__':
    main()
