"""The results file of a per-cell benchmark (`tta.py`, `ceiling.py`): a JSON list of runs, one per measured
cell, each stamped with the command, commit, machine and wall time that produced it. Earlier invocations' runs are kept;
a cell measured again replaces its run; the file is rewritten (atomically) after every cell."""
import json, os, platform, sys, time
from pathlib import Path
from typing import Callable

from corepreg.core import save_json
from corepreg.study import git_commit


def load_runs(out:Path) -> list:
    "The runs already in `out` (none if it does not exist yet)."
    return json.loads(out.read_text())['runs'] if out.exists() else []


def save_run(out:Path, runs:list, cell:dict, script:str, argv, started:float, replaces:Callable[[dict], bool]) -> list:
    "`runs` less those that `replaces` matches, plus `cell` with its provenance; written to `out`, and returned."
    runs = [r for r in runs if not replaces(r)] + [{
        **cell, 'command': f'python ablations/{script} ' + ' '.join(argv if argv is not None else sys.argv[1:]),
        'commit': git_commit(), 'machine': f'{platform.machine()}, {os.cpu_count()} cores, {platform.processor()}',
        'wall_seconds': round(time.time() - started, 1)}]
    save_json(out, {'runs': runs})
    return runs
