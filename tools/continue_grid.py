"""Continue a committed study grid on this machine, every shard of its latest command in the background: the step that
starts each session of a grid that runs over many (a new checkout has no `runs/`).

Usage: python tools/continue_grid.py uwloci-comir-sup [--precision bfloat16] [--dry-run]

It copies `results/NAME` to `runs/NAME` where the checkout has none, takes the latest invocation's command from
`command.json`, and starts it once per shard (`--shard k/n`, `OMP_NUM_THREADS=1`, each logging to
`runs/NAME-shardK-of-N.log`). It refuses, naming what is wrong, when an input folder of the command is missing (a
folder made by another command, e.g. `corepreg align-colour`: the grid's NOTE.md says which), when a study already
writes into the folder, or when this machine would train in another precision than `--precision` (the cells that
landed before each cell recorded its precision: `corepreg.study.check_precision` covers the rest).
Then `python tools/continue_grid.py NAME --status` prints each shard's last line.
"""
import argparse, json, os, shlex, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shard_commands(cmd: str) -> list[list[str]]:
    "The latest command once per shard of its `--shard k/n` (one command when it has none)."
    argv = shlex.split(cmd)
    if argv[:2] != ['corepreg', 'study']: raise SystemExit(f"the latest command is not a study: {cmd}")
    if '--shard' not in argv: return [argv]
    i = argv.index('--shard'); n = int(argv[i + 1].split('/')[1])
    return [argv[:i + 1] + [f'{k}/{n}'] + argv[i + 2:] for k in range(1, n + 1)]


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('name', help='a study folder under results/ (and runs/)')
    p.add_argument('--precision', choices=('bfloat16', 'float32'), help='refuse unless this machine trains in it')
    p.add_argument('--dry-run', action='store_true', help='check and print the commands, start nothing')
    p.add_argument('--status', action='store_true', help="print each shard log's last line and exit")
    a = p.parse_args(argv)
    res, run = ROOT/'results'/a.name, ROOT/'runs'/a.name
    cmd_file = run/'command.json' if (run/'command.json').exists() else res/'command.json'
    if not cmd_file.exists(): raise SystemExit(f"{res}: no command.json (not a committed study folder)")
    shards = shard_commands(json.loads(cmd_file.read_text())['command'])
    logs = [ROOT/'runs'/(f"{a.name}-shard{option(c, '--shard').replace('/', '-of-')}.log" if '--shard' in c else f'{a.name}.log')
            for c in shards]
    if a.status:
        for log in logs: print(f"{log.name}: {log.read_text().strip().splitlines()[-1] if log.exists() and log.stat().st_size else '(no log)'}")
        return 0
    if option(shards[0], '--out') != f'runs/{a.name}': raise SystemExit(f"the latest command writes to {option(shards[0], '--out')}, not runs/{a.name}")
    missing = [f"{o} {option(shards[0], o)}" for o in ('--a', '--b', '--test-a', '--test-b')
               if option(shards[0], o) and not (ROOT/option(shards[0], o)).is_dir()]
    if missing: raise SystemExit(f"{a.name}: the command's input folder(s) are missing: {'; '.join(missing)} "
                                 f"(see {res/'NOTE.md'} for the command that makes them)")
    from corepreg.guard import lock_holders
    if (busy := lock_holders(run)):                    # the study's own locks: a shard still running holds one
        raise SystemExit(f"{a.name}: a study already writes into runs/{a.name} (process {', '.join(str(h.get('pid', '?')) for h in busy)})")
    if a.precision:
        from corepreg.study import StudyGrid, training_precision
        here = training_precision(StudyGrid.from_json((run if (run/'grid.json').exists() else res)/'grid.json'))
        if here != a.precision:
            raise SystemExit(f"{a.name}: this machine would train in {here}, not {a.precision} "
                             "(python benchmarks/bench_cell_step.py says why and what a cell would cost here)")
    for c, log in zip(shards, logs): print(f"{'would start' if a.dry_run else 'starting'}: {shlex.join(c)} >> {log.relative_to(ROOT)}")
    if a.dry_run: return 0
    if not run.exists(): shutil.copytree(res, run)
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    exe = str(Path(sys.executable).parent/'corepreg')
    for c, log in zip(shards, logs):
        with open(log, 'a') as f:
            subprocess.Popen([exe, *c[1:]], cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
