"""One lease of a GPU: the trainer's step on the GPU, then the `standard` recipe with CoMIR's network trained

The training part's summary (`$OUT/train_gpu.json`) is kept as results/ablations/gpu_training.json for the ablations chapter.
for as many steps as the lease allows, on the shared SHG / bright-field cores, both folds side by side.

Part 1, timings (`bench_train.py`'s own functions, so the figures mean what its CPU figures mean): the `full` preset's
step on the baseline path (float32, contiguous memory), float32 channels-last, and today's default (channels-last,
bfloat16 autocast on a GPU), alternating, `--rounds` runs each, medians of the trainer's `log.jsonl` seconds; then
the `standard` preset and the `standard` recipe with CoMIR's network (`--model comir`), with peak GPU memory.
Written to `$OUT/results_train_gpu.json` before part 2 starts.

Part 2, training: the cells `folder-f1-s0-none-mse` and `folder-f2-s0-none-mse` of

    corepreg study --data folder --a ../shared/data/uwloci-shg-he/Input/SHG_512_not_adjusted --b runs/uwloci-he-rgb
        --colour-b --preset standard --model comir --supervision none --critics mse --seeds 1 --folds 1,2 --steps N

trained by `train()` with the very config that study gives each cell, two processes on the one GPU. N is the largest
multiple of 250 (at most CoMIR's 12 800) that part 1's step time says fits before `--deadline`. Each run folder
(checkpoint, config, log) is packed into `$OUT` as `f<fold>.tgz.<part>` (the files that come back are at most 16 MiB
each). Back on the CPU machine, unpack them into `runs/<study>/runs/` and run the study command above with `--out
runs/<study>`: it finds the training finished and evaluates the cells on the held-out cores (the GPU machine has no
SimpleITK, which `ssd` and `mi` need).

The relative data paths of that command must resolve as they do here, so the script runs from a staging folder in
which `../shared/data/uwloci-shg-he/Input/SHG_512_not_adjusted` and `runs/uwloci-he-rgb` point to `--shg` and `--rgb`.

Usage (on the GPU machine, from the repository root; that machine has no git, so take the hash here with
`git rev-parse HEAD` on a clean tree and paste it whole, not typed from its short form):
    python ablations/gpu_cells.py --shg .devdata/SHG_512_not_adjusted --rgb runs/uwloci-he-rgb --commit <hash> --deadline 480
`--dry-run` does all of it on the CPU with a few steps (to check the script before a lease).
"""
import argparse, json, os, platform, subprocess, sys, tarfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STUDY_ARGS = ['study', '--data', 'folder', '--a', '../shared/data/uwloci-shg-he/Input/SHG_512_not_adjusted', '--b', 'runs/uwloci-he-rgb',
              '--colour-b', '--preset', 'standard', '--model', 'comir', '--supervision', 'none', '--critics', 'mse', '--seeds', '1',
              '--folds', '1,2']
PART = 15 * 2**20          # bytes per packed part


def cell_config(steps:int, fold:int):
    "The training config of the study's plain cell in `fold`, exactly as `corepreg study` builds it (paths relative to the cwd)."
    from corepreg.cli import grid_from_args, parser
    from corepreg.study import Cell, train_config
    grid = grid_from_args(parser().parse_args(STUDY_ARGS + ['--steps', str(steps)]))
    cell = Cell('folder', fold, 0, 'none', 'mse')
    return cell.id, train_config(grid, cell)


def stage(shg:Path, rgb:Path) -> Path:
    "A folder from which the study's relative data paths resolve to `shg` and `rgb`."
    root = Path('/tmp/corepreg-stage'); main = root/'main'
    (root/'shared/data/uwloci-shg-he/Input').mkdir(parents=True, exist_ok=True); (main/'runs').mkdir(parents=True, exist_ok=True)
    for link, target in ((root/'shared/data/uwloci-shg-he/Input/SHG_512_not_adjusted', shg), (main/'runs/uwloci-he-rgb', rgb)):
        if not link.exists(): link.symlink_to(target.resolve())
    return main


def timings(device:str, rounds:int, steps:int) -> dict:
    "Part 1: the full preset's paths side by side, and the standard preset (tiny and comir) with peak memory."
    import torch
    from bench_train import PATHS, compare, measure
    from corepreg.train import TRAIN_PRESETS
    res = {'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
           'gpu_name': torch.cuda.get_device_name() if device == 'cuda' else None, 'gpu': {}}
    res['gpu']['full_vs_baseline'] = compare(TRAIN_PRESETS['full'], steps, rounds, device, PATHS)
    print('full vs baseline', res['gpu']['full_vs_baseline'], flush=True)
    for label, kw in (('fp32', {'channels_last': False, 'amp': False}), ('bf16+channels_last', {'amp': True})):
        res['gpu'][f'full/{label}'] = measure(TRAIN_PRESETS['full'], steps, device, **kw)
    std = TRAIN_PRESETS['standard']
    res['gpu']['standard'] = measure(std, 2 * steps, device)
    res['gpu']['standard/comir'] = measure(std.replace(model='comir'), 5 * steps, device)
    for k in ('standard', 'standard/comir'): print(k, res['gpu'][k], flush=True)
    return res


def loop_seconds(steps:int, device:str) -> float:
    "Wall seconds a step of the training loop (loader included, setup not) of a fold's cell: the clock for part 2."
    import tempfile
    from corepreg.train import train
    _, cfg = cell_config(steps, 1)
    with tempfile.TemporaryDirectory() as d: s = train(cfg, d, device=device, progress=False)
    return s['seconds'] / steps


def train_fold(steps:int, fold:int, out:Path, device:str):
    "Part 2, one process: train the fold's cell into `out/runs/<cell id>`."
    from corepreg.train import train
    cid, cfg = cell_config(steps, fold)
    t0 = time.time()
    s = train(cfg, out/'runs'/cid, device=device, progress=False)
    print(f'fold {fold}: {s["step"]} steps in {time.time() - t0:.0f} s, loss {s["loss"]:.4f}', flush=True)


def pack(run_dir:Path, dest:Path, name:str) -> list[str]:
    "The run's checkpoint, config and log as a .tgz split into parts of at most `PART` bytes."
    tgz = dest/f'{name}.tgz'
    with tarfile.open(tgz, 'w:gz') as t:
        for f in ('checkpoint.pt', 'config.json', 'log.jsonl'):
            if (run_dir/f).exists(): t.add(run_dir/f, arcname=f'{run_dir.name}/{f}')
    data, parts = tgz.read_bytes(), []
    tgz.unlink()
    for i in range(0, len(data), PART):
        p = dest/f'{name}.tgz.{i // PART}'; p.write_bytes(data[i:i + PART]); parts.append(p.name)
    return parts


def lease_parser(deadline:float) -> argparse.ArgumentParser:
    "The options of a lease script: where the data are, the commit that runs, the deadline, and a dry run on the CPU."
    ap = argparse.ArgumentParser()
    ap.add_argument('--shg', default='.devdata/SHG_512_not_adjusted')
    ap.add_argument('--rgb', default='runs/uwloci-he-rgb')
    ap.add_argument('--commit', default='unknown', help='the commit of the code that runs (the GPU machine has no git)')
    ap.add_argument('--deadline', type=float, default=deadline, help='seconds from the start by which the training stops')
    ap.add_argument('--dry-run', action='store_true')
    return ap


def child_env() -> dict:
    "The environment of a training child: this repository importable, output unbuffered."
    return {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(REPO), os.environ.get('PYTHONPATH')])), 'PYTHONUNBUFFERED': '1'}


def main():
    ap = lease_parser(480)
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--steps', type=int, default=30, help='timed steps per run of part 1')
    ap.add_argument('--contention', type=float, default=1.7, help='slow-down assumed for two trainings on one GPU')
    ap.add_argument('--train-fold', type=int, help=argparse.SUPPRESS)      # the child process of part 2
    ap.add_argument('--train-steps', type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    device = 'cpu' if a.dry_run else 'cuda'
    out = Path(os.environ.get('OUT', '/tmp/corepreg-out')); out.mkdir(parents=True, exist_ok=True)
    from corepreg.train import read_log
    if a.train_fold:
        return train_fold(a.train_steps, a.train_fold, Path.cwd()/'runs/uwloci-comir-gpu', device)
    t0 = time.time()
    shg, rgb = Path(a.shg).resolve(), Path(a.rgb).resolve()
    res = timings(device, 1 if a.dry_run else a.rounds, 3 if a.dry_run else a.steps)
    res.update(commit=a.commit, command='python ablations/gpu_cells.py ' + ' '.join(sys.argv[1:]))
    (out/'results_train_gpu.json').write_text(json.dumps(res, indent=1))
    main_dir = stage(shg, rgb); os.chdir(main_dir)
    per_step = loop_seconds(4 if a.dry_run else 150, device)   # the real cell's loop, alone on the GPU
    res['gpu']['study_cell_loop_seconds'] = per_step
    (out/'results_train_gpu.json').write_text(json.dumps(res, indent=1))
    left = a.deadline - (time.time() - t0) - 30            # 30 s: the children's start (imports, data, CUDA)
    steps = 4 if a.dry_run else int(min(12800, max(250, left / (per_step * a.contention))) // 250 * 250)
    print(f'part 1 took {time.time() - t0:.0f} s; {per_step * 1000:.0f} ms a step alone; training {steps} steps a fold', flush=True)
    kids = [subprocess.Popen([sys.executable, str(HERE/'gpu_cells.py'), '--train-fold', str(f), '--train-steps', str(steps)]
                             + (['--dry-run'] if a.dry_run else []), cwd=main_dir, env=child_env()) for f in (1, 2)]
    t_train = time.time()
    while any(k.poll() is None for k in kids) and time.time() - t0 < a.deadline: time.sleep(2)
    for k in kids:
        if k.poll() is None: k.terminate()
    for k in kids: k.wait()
    info = {'steps': steps, 'per_step_alone': per_step, 'train_wall_seconds': time.time() - t_train,
            'returncodes': [k.returncode for k in kids], 'study_args': STUDY_ARGS + ['--steps', str(steps)], 'commit': a.commit, 'parts': {}}
    for f in (1, 2):
        cid, _ = cell_config(steps, f)
        run_dir = main_dir/'runs/uwloci-comir-gpu/runs'/cid
        log = read_log(run_dir)      # [] when there is none; a line torn by the kill is skipped
        info['parts'][cid] = pack(run_dir, out, f'f{f}') if run_dir.exists() else []
        info[cid] = {'last_step_logged': log[-1]['step'] if log else 0, 'step_seconds_sum': sum(r.get('seconds', 0) for r in log),
                     'last_val': {k: v for r in log for k, v in r.items() if k.startswith('val_')}}
    (out/'train_gpu.json').write_text(json.dumps(info, indent=1))
    print(json.dumps(info, indent=1), flush=True)


if __name__ == '__main__':
    main()
