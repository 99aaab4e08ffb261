"""Benchmark of `make test`'s two long parts: how the notebooks' tests (`nbdev_test`) and `pytest tests/` share the cores.

Usage: python benchmarks/bench_test_suite.py [--suites nbs,py] [--rounds 2] [--jobs N] [--out benchmarks/results_test_suite.json]

Each suite runs in the configurations below, which alternate within every round so that they see the same machine load;
the file keeps every wall time (seconds, the whole command), and the median per configuration.

- `nbs`: `nbdev_test --n_workers JOBS` with torch's default threads (one per core in every process: JOBS processes of
  JOBS threads), against the same with `OMP_NUM_THREADS=1` (the Makefile's `test-nbs` since it was measured here).
- `py`: `pytest tests/ -q` in one process, against `pytest -n JOBS` (pytest-xdist) with `OMP_NUM_THREADS=1` (the
  Makefile's `test-py`).

Run it from the project root with the environment built (`make env`); it runs the project's own tests, so a failing test
makes the script stop with that suite's output.
"""
import argparse, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path
from corepreg.core import save_json
from corepreg.study import git_commit

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT/'.venv'/'bin'


def configs(suite:str, jobs:int) -> dict:
    "Label -> (command, extra environment, working folder) of each configuration of `suite`."
    if suite == 'nbs':
        cmd = [str(VENV/'nbdev_test'), '--n_workers', str(jobs)]
        return {'default_threads': (cmd, {}, ROOT/'nbs'), 'one_thread': (cmd, {'OMP_NUM_THREADS': '1'}, ROOT/'nbs')}
    if suite == 'py':
        cmd = [str(VENV/'python'), '-m', 'pytest', 'tests/', '-q', '-p', 'no:cacheprovider']
        return {'serial': (cmd, {}, ROOT), 'xdist_one_thread': (cmd + ['-n', str(jobs)], {'OMP_NUM_THREADS': '1'}, ROOT)}
    raise SystemExit(f"--suites: {suite!r} is not one of nbs, py")


def cpu_name() -> str:
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or 'unknown CPU'


def wall(cmd, extra:dict, cwd) -> float:
    env = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'} | extra
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode: sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return time.perf_counter() - t0


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--suites', default='nbs,py')
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--jobs', type=int, default=os.cpu_count())
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results_test_suite.json'))
    a = ap.parse_args()
    res = {'machine': f"{platform.machine()}, {os.cpu_count()} cores, {cpu_name()}", 'commit': git_commit(),
           'command': 'python benchmarks/bench_test_suite.py ' + ' '.join(sys.argv[1:]),
           'jobs': a.jobs, 'rounds': a.rounds, 'suites': {}}
    for suite in a.suites.split(','):
        got = {label: [] for label in configs(suite, a.jobs)}
        for _ in range(a.rounds):
            for label, (cmd, extra, cwd) in configs(suite, a.jobs).items():
                got[label].append(wall(cmd, extra, cwd))
                print(suite, label, round(got[label][-1], 1), flush=True)
        med = {k: statistics.median(v) for k, v in got.items()}
        first = next(iter(med))
        res['suites'][suite] = {k: {'wall_seconds': got[k], 'median_seconds': med[k], 'speedup': med[first] / med[k]} for k in got}
    save_json(a.out, res)   # atomically: written, then renamed
    print(json.dumps(res, indent=1))
