"""Fault injection: each command is killed with SIGKILL at every distinct place where it writes a file, then rerun; the outputs
must equal those of a run that was never killed (byte for byte where the run is deterministic, timings aside), with nothing
lost, duplicated, torn or left as a temporary file.

The write points are found, not listed by hand: every write of the package goes through `core.atomic_open` (or, for the
training log, `train.log_step`), which calls `core.fault_point`. With `COREPREG_FAULT_LOG` set, an uninterrupted run lists
each point it passes with the line of the package that wrote (e.g. `study.py:402`); the test then kills a fresh run at the
first pass of each distinct line (`COREPREG_KILL_AT=k`), and at the last point of all."""
import json, os, shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
import torch

from conftest import VENV_BIN, run
from test_bad_input import SMALL

CORE = str(VENV_BIN/'corepreg')
TIMING = ('seconds', 'train_seconds', 'register_seconds', 'started')     # what differs between any two runs


def points(cmd, tmp:Path) -> list[tuple[int, str, str]]:
    "(k, writing line, path) of every write point that `cmd` passes when it is not killed."
    log = tmp/'faults.log'
    r = run(cmd, env={'COREPREG_FAULT_LOG': str(log)}, timeout=600)
    assert r.returncode == 0, r.stderr
    return [(int(k), where, path) for k, where, path in (line.split('\t') for line in log.read_text().splitlines())]


def kill_points(pts) -> list[int]:
    "The first pass of each distinct writing line, and the last point of all."
    first = {}
    for k, where, _ in pts: first.setdefault(where, k)
    return sorted(set(first.values()) | {pts[-1][0]})


def no_debris(folder:Path):
    "No temporary file of an interrupted write and no lock is left behind."
    left = [p for p in folder.rglob('*') if p.name.endswith('.tmp') or p.name in ('.checkpoint.new', '.corepreg.lock')]
    assert not left, left


def same_table(a:Path, b:Path, key:list):
    "Two CSV files hold the same rows (timings aside), each key once."
    x, y = (pd.read_csv(p).drop(columns=[c for c in TIMING if c in pd.read_csv(p)]).sort_values(key).reset_index(drop=True) for p in (a, b))
    assert not x.duplicated(key).any()
    pd.testing.assert_frame_equal(x, y)


def kill_then_rerun(cmd_for, tmp:Path, check):
    "Reference run, its points, then for each kill point: a run killed there, the same command again, and `check(ref, out)`."
    ref = tmp/'ref'
    pts = points(cmd_for(ref), tmp)
    chosen = kill_points(pts)
    assert len(chosen) >= 3, pts
    for k in chosen:
        out = tmp/f'killed-{k}'
        r = run(cmd_for(out), env={'COREPREG_KILL_AT': str(k)}, timeout=600)
        assert r.returncode == -9, (k, pts[k - 1], r.returncode, r.stderr[-2000:])
        r = run(cmd_for(out), timeout=600)
        assert r.returncode == 0, (k, pts[k - 1], r.stderr[-2000:])
        no_debris(out)
        check(ref, out)
    return pts, chosen


def _pairs(root:Path, n:int=3) -> tuple[Path, Path]:
    from scipy.ndimage import gaussian_filter
    fixed, moving = root/'fixed', root/'moving'
    fixed.mkdir(); moving.mkdir()
    for i in range(n):
        img = gaussian_filter(np.random.default_rng(i).random((96, 96)), 2).astype(np.float32)
        tifffile.imwrite(fixed/f'p{i}.tif', img); tifffile.imwrite(moving/f'p{i}.tif', np.roll(img, (2, 3), axis=(0, 1)))
    return fixed, moving


def test_register_folders_killed_at_every_write_point(tmp_path):
    fixed, moving = _pairs(tmp_path)
    cmd = lambda out: [CORE, 'register', str(fixed), str(moving), '--method', 'ssd', '--out', str(out)]
    def check(ref, out):
        same_table(ref/'transforms.csv', out/'transforms.csv', ['name'])
        for i in range(3):
            a, b = (json.loads((d/f'p{i}'/'transform.json').read_text()) for d in (ref, out))
            assert {k: v for k, v in a.items() if k != 'seconds'} == {k: v for k, v in b.items() if k != 'seconds'}
            for f in ('overlay.png', f'p{i}_registered.tif'): assert (ref/f'p{i}'/f).read_bytes() == (out/f'p{i}'/f).read_bytes()
        assert len(json.loads((out/'command.json').read_text())['invocations']) >= 1
    pts, chosen = kill_then_rerun(cmd, tmp_path, check)
    wrote = {w for _, w, _ in pts}
    assert {p.rsplit(':', 1)[0] for p in wrote} >= {'register_files.py', 'guard.py'}, wrote


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('run')
    r = run([CORE, 'train', *SMALL, '--steps', '2', '--out', str(tmp/'run')], timeout=600)
    assert r.returncode == 0, r.stderr
    return tmp/'run'


def test_infer_killed_at_every_write_point(tmp_path, trained):
    images = tmp_path/'images'; images.mkdir()
    for i in range(3): tifffile.imwrite(images/f'x{i}.tif', np.random.default_rng(i).random((64, 80)).astype(np.float32))
    cmd = lambda out: [CORE, 'infer', '--run', str(trained), '--modality', 'A', str(images), '--out', str(out)]
    def check(ref, out):
        names = sorted(p.name for p in ref.iterdir() if '_comir' in p.name)
        assert len(names) == 6 and names == sorted(p.name for p in out.iterdir() if '_comir' in p.name)
        for n in names: assert (ref/n).read_bytes() == (out/n).read_bytes(), n
    kill_then_rerun(cmd, tmp_path, check)


def test_train_killed_at_every_write_point(tmp_path):
    cmd = lambda out: [CORE, 'train', *SMALL, '--steps', '4', '--checkpoint-every', '2', '--out', str(out)]
    def check(ref, out):
        a, b = (torch.load(d/'checkpoint.pt', weights_only=False) for d in (ref, out))
        assert a['step'] == b['step'] == 4 and all(torch.equal(a['models'][k], b['models'][k]) for k in a['models'])
        logs = [[json.loads(l) for l in (d/'log.jsonl').read_text().splitlines()] for d in (ref, out)]   # no torn line
        assert [r['step'] for r in logs[1]] == [1, 2, 3, 4]
        assert [r['total'] for r in logs[0]] == [r['total'] for r in logs[1]]
    pts, _ = kill_then_rerun(cmd, tmp_path, check)
    assert any(w.startswith('train.py') and p.endswith('log.jsonl') for _, w, p in pts)


def test_study_killed_at_every_write_point(tmp_path):
    cmd = lambda out: [CORE, 'study', '--data', 'synthetic', '--supervision', 'none', '--critics', 'mse', '--methods', 'fftmi',
                       '--steps', '2', '--n-test', '1', '--workers', '1', '--out', str(out)]
    def check(ref, out):
        same_table(ref/'results.csv', out/'results.csv', ['cell_id', 'method'])
        for f in sorted((ref/'records').glob('*.csv')): same_table(f, out/'records'/f.name, ['cell_id', 'method', 'name', 'level', 'pair'])
        for f in sorted((ref/'cells').glob('*.json')):
            a, b = (json.loads(p.read_text()) for p in (f, out/'cells'/f.name))
            assert a == b, f.name
    pts, chosen = kill_then_rerun(cmd, tmp_path, check)
    assert {w.rsplit(':', 1)[0] for _, w, _ in pts} >= {'study.py', 'train.py', 'guard.py'}
