"""Does bfloat16 autocast on a CPU train worse CoMIRs than float32?

In the ablations chapter: `amp_quality.json`, its repeat of one fold `amp_quality_repeat.json`, and the `small` network's
`small_quality.json`, all in results/ablations/.

CoMIR's own network trained with the `standard` recipe reached held-out r 0.68 on a GPU in float32
(`results/uwloci-comir-gpu`), but only 0.56 on this CPU under bfloat16 autocast (`rgb.py --model comir`,
1 300 steps). The runs differ in steps and schedule as well as in precision. This script isolates the precision: it
trains the study's plain fold cell (the config of `gpu_cells.cell_config`, i.e. of `corepreg study ... --model comir
--steps TOTAL`) twice on the CPU from the same seed, data order and schedule, once in float32 (as the `standard`
preset pins) and once under bfloat16 autocast (the CPU fast path), stops both at `--stop`, and compares the trainer's
own validation (mean Pearson r between the two CoMIRs of fixed held-out patch pairs, and top-1 retrieval) along the way
and, at the end, on `--final-patches` held-out pairs evaluated in float32.

`--model small` (or `tiny`) trains the same cell, schedule and precision arms with a smaller network of the same
family instead (its run folder is named `f<fold>-<arm>-<model>`, its record carries `model`): where between `tiny` and
CoMIR's network does the long schedule start to pay?

The arms run one after the other (alone on the cores, so the seconds a step compare too). Results go to
`results/ablations/amp_quality.json`, written after each arm (atomically).

Usage (from the repository root, with `runs/uwloci-he-rgb` made by `corepreg align-colour` as in
`results/uwloci-rgb/NOTE.md`):
    python ablations/amp_quality.py --fold 1 --total 2250 --stop 500
    python ablations/amp_quality.py --fold 1 --total 2250 --stop 2250 --arms bf16 --model small --json results/ablations/small_quality.json
"""
import argparse, json, os, platform, sys, time
from pathlib import Path

import numpy as np
from corepreg.core import save_json
from corepreg.study import git_commit

HERE = Path(__file__).resolve().parent
from gpu_cells import cell_config  # noqa: E402  the study's own cell config

ARMS = {'fp32': False, 'bf16': True}


def run_arm(arm:str, fold:int, total:int, stop:int, val_every:int, final_patches:int, out:Path, model:str='comir') -> dict:
    "Train one arm to `stop` steps (resuming if its folder holds a checkpoint) and read its validation curve."
    import torch
    from corepreg.train import load_run, read_log, train, validate, validation_patches
    _, cfg = cell_config(total, fold)
    cfg = cfg.replace(amp=ARMS[arm], val_every=val_every, model=model)
    run_dir = out/(f'f{fold}-{arm}' + ('' if model == 'comir' else f'-{model}'))
    s = train(cfg, run_dir, device='cpu', stop_at=stop, progress=sys.stderr.isatty())
    log = read_log(run_dir)
    _, models = load_run(run_dir, device='cpu')
    xa, xb = validation_patches(cfg, final_patches)
    with torch.no_grad(): final = validate(models['A'].net, models['B'].net, xa, xb, cfg.loss.critic)
    return {'arm': arm, 'model': model, 'amp': s['amp'], 'fold': fold, 'total_steps': total, 'stopped_at': s['step'],
            'median_step_seconds': float(np.median([r['seconds'] for r in log if 'seconds' in r])),
            'val': [{k: r[k] for k in ('step', 'val_r', 'val_top1')} for r in log if 'val_r' in r],
            'loss_last_50': float(np.mean([r['total'] for r in log[-50:] if 'total' in r])),
            f'final_val_{final_patches}': final}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--fold', type=int, default=1)
    ap.add_argument('--total', type=int, default=2250, help="the schedule's length (the GPU run's 2 250)")
    ap.add_argument('--stop', type=int, default=500, help='steps actually trained')
    ap.add_argument('--val-every', type=int, default=100)
    ap.add_argument('--final-patches', type=int, default=128)
    ap.add_argument('--arms', default='fp32,bf16')
    ap.add_argument('--model', default='comir', choices=['tiny', 'small', 'comir'], help="the network (default: CoMIR's, as the GPU run)")
    ap.add_argument('--out', default='runs/amp-quality')
    ap.add_argument('--json', default=str(HERE.parent/'results'/'ablations'/'amp_quality.json'))
    a = ap.parse_args()
    import torch
    path = Path(a.json)
    res = json.loads(path.read_text()) if path.exists() else {'runs': []}
    res['machine'] = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
    for arm in a.arms.split(','):
        t0 = time.time()
        r = run_arm(arm, a.fold, a.total, a.stop, a.val_every, a.final_patches, Path(a.out), a.model)
        r.update(wall_minutes=round((time.time() - t0) / 60, 1), commit=git_commit(),
                 command='python ablations/amp_quality.py ' + ' '.join(sys.argv[1:]))
        key = lambda x: (x['arm'], x.get('model', 'comir'), x['fold'], x['total_steps'], x['stopped_at'])
        res['runs'] = [x for x in res['runs'] if key(x) != key(r)] + [r]
        save_json(path, res)
        print(json.dumps(r), flush=True)


if __name__ == '__main__':
    main()
