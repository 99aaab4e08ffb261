"""What one cell of a study grid costs on this machine, before a session spends hours on it: the training step of a
grid's cell, in `--procs` processes of one thread side by side (as `corepreg study --shard k/n --workers 1` runs them
under `OMP_NUM_THREADS=1`), and the cell's training time that it implies.

Usage: python benchmarks/bench_cell_step.py --grid results/uwloci-comir-sup --cell folder-f2-s2-pooled-mse \
           [--steps 12] [--procs 2] [--out benchmarks/results_cell_step.json]

Each process trains the cell's own config (`train_config` of the folder's grid.json: network, data, critic, supervision,
precision as this machine resolves it) for `--steps` steps into a scratch folder; the seconds of each step come from the
trainer's log.jsonl, the first two of each process dropped (warm-up). The file records the CPU's model and bfloat16
flags, the precision the trainer chose, the median step and the implied hours of the cell's full schedule, so that a
session can decide from a three-minute run whether the grid's remaining cells fit the time it has.
"""
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(grid_dir: str, cell_id: str, steps: int, out: str):
    "One process: train the cell's config for `steps` steps; write its step seconds and precision to `out`."
    from corepreg.study import StudyGrid, cells, train_config
    from corepreg.train import read_log, train
    grid = StudyGrid.from_json(Path(grid_dir)/'grid.json')
    cell = next((c for c in cells(grid) if c.id == cell_id), None)
    if cell is None or cell.raw: raise SystemExit(f"{cell_id}: not a trained cell of {grid_dir}")
    cfg = train_config(grid, cell)
    with tempfile.TemporaryDirectory() as d:
        info = train(cfg.replace(steps=steps, checkpoint_every=steps, val_every=0), d, progress=False)
        secs = [r['seconds'] for r in read_log(d)]
    Path(out).write_text(json.dumps({'seconds': secs, 'amp': info['amp'], 'schedule_steps': cfg.optim.steps}))


def cpu_model() -> str:
    try: return next(l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or 'unknown'


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--grid', default='results/uwloci-comir-sup', help="a study folder (its grid.json)")
    p.add_argument('--cell', default='folder-f2-s2-pooled-mse', help="a trained cell of that grid")
    p.add_argument('--steps', type=int, default=12)
    p.add_argument('--procs', type=int, default=2, help="processes side by side, one thread each (the grid's shards)")
    p.add_argument('--out', default=str(HERE/'results_cell_step.json'))
    p.add_argument('--worker', nargs=2, metavar=('STEPS', 'OUT'), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker: return worker(a.grid, a.cell, int(a.worker[0]), a.worker[1])
    from corepreg.study import git_commit
    from corepreg.train import cpu_flags
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    with tempfile.TemporaryDirectory() as d:
        outs = [Path(d)/f'{k}.json' for k in range(a.procs)]
        t0 = time.time()
        procs = [subprocess.Popen([sys.executable, __file__, '--grid', a.grid, '--cell', a.cell, '--worker', str(a.steps), str(o)], env=env)
                 for o in outs]
        if any(pr.wait() for pr in procs): raise SystemExit("a worker failed (its error is above)")
        runs = [json.loads(o.read_text()) for o in outs]
    secs = [s for r in runs for s in r['seconds'][2:]]
    med, n = statistics.median(secs), runs[0]['schedule_steps']
    res = {'grid': a.grid, 'cell': a.cell, 'procs': a.procs, 'threads_per_proc': 1, 'steps': a.steps,
           'precision': 'bfloat16' if runs[0]['amp'] else 'float32', 'median_step_seconds': round(med, 3),
           'per_process_medians': [round(statistics.median(r['seconds'][2:]), 3) for r in runs],
           'schedule_steps': n, 'cell_training_hours': round(med * n / 3600, 2), 'wall_seconds': round(time.time() - t0, 1),
           'cpu': cpu_model(), 'cpu_bf16_flags': sorted(f for f in cpu_flags() if 'bf16' in f or f.startswith('amx')),
           'cores': os.cpu_count(), 'machine': platform.machine(), 'commit': git_commit()}
    Path(a.out).write_text(json.dumps(res, indent=2) + '\n')
    print(json.dumps(res, indent=2))


if __name__ == '__main__':
    main()
