"""The protections that every command shares (`corepreg.guard`), one test per class of mistake: a batch goes on past a bad
item and resumes after a kill, no output is silently overwritten, one writer per output folder, a run's config is its
identity, bounds are checked before any work, and a torn file is repaired so that other programs read it whole."""
import json, os, signal, subprocess, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile

from conftest import ROOT, VENV_BIN, run, start
from test_bad_input import SMALL, call

CORE = str(VENV_BIN/'corepreg')


def _pairs(root:Path, names=('a', 'b', 'c'), bad:str|None=None, size:int=96) -> tuple[Path, Path]:
    "Two folders of same-named images: moving = fixed shifted by (3, 2) px; `bad` names a pair whose moving image is junk."
    fixed, moving = root/'fixed', root/'moving'
    fixed.mkdir(parents=True, exist_ok=True); moving.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(names):
        img = np.random.default_rng(i).random((size, size)).astype(np.float32)
        from scipy.ndimage import gaussian_filter
        img = gaussian_filter(img, 2)
        tifffile.imwrite(fixed/f'{n}.tif', img)
        if n == bad: (moving/f'{n}.tif').write_bytes(b'not an image')
        else: tifffile.imwrite(moving/f'{n}.tif', np.roll(img, (2, 3), axis=(0, 1)))
    return fixed, moving


# ---- batch goes on: a bad pair in the middle is recorded, the later pairs are registered, exit 1, the last line counts
def test_a_batch_goes_on_past_a_bad_pair(tmp_path, capsys):
    fixed, moving = _pairs(tmp_path, bad='b')
    code = _main(['register', str(fixed), str(moving), '--method', 'ssd', '--out', str(tmp_path/'out')])
    out, err = capsys.readouterr()
    assert code == 1
    done = pd.read_csv(tmp_path/'out'/'transforms.csv')
    assert list(done.name) == ['a', 'c']                                   # the pair after the bad one was tried
    failed = pd.read_csv(tmp_path/'out'/'failures.csv')
    assert list(failed.name) == ['b'] and 'b.tif: cannot be read as an image' in failed.reason[0]
    assert out.strip().splitlines()[-1].startswith('3 pairs: 2 done (0 before this run), 1 failed')


def _main(argv):
    from corepreg.cli import main
    try: return main(argv)
    except SystemExit as e: return e.code if isinstance(e.code, int) else 1


# ---- batch resumes: killed after its first pair, a rerun skips it, ends with every row, and never shrinks transforms.csv
def test_a_killed_folder_registration_resumes(tmp_path):
    fixed, moving = _pairs(tmp_path, names=('a', 'b', 'c', 'd'), size=128)
    out = tmp_path/'out'
    cmd = [CORE, 'register', str(fixed), str(moving), '--method', 'mi', '--out', str(out)]
    proc = start(cmd)
    deadline = time.time() + 120
    while time.time() < deadline and not (out/'a'/'transform.json').exists(): time.sleep(0.02)
    os.kill(proc.pid, signal.SIGINT); proc.communicate(timeout=60)
    first = (out/'a'/'transform.json').read_bytes()
    rows_before = len(pd.read_csv(out/'transforms.csv')) if (out/'transforms.csv').exists() else 0   # (the kill may beat its first write)
    done_before = len(list(out.glob('*/transform.json')))
    r = run(cmd, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (out/'a'/'transform.json').read_bytes() == first              # done before: skipped, not redone
    res = pd.read_csv(out/'transforms.csv')
    assert list(res.name) == ['a', 'b', 'c', 'd'] and len(res) >= rows_before
    assert f'4 pairs: 4 done ({done_before} before this run), 0 failed' in r.stdout
    inv = json.loads((out/'command.json').read_text())['invocations']
    assert [i['finished'] for i in inv] == [False, True]                   # the stopped invocation is on record too


# ---- no silent overwrite
def test_a_second_registration_into_the_same_out_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fixed, moving = _pairs(tmp_path)
    assert _main(['register', str(fixed/'a.tif'), str(moving/'a.tif'), '--method', 'ssd']) == 0     # default --out: ./registered
    before = (tmp_path/'registered'/'transform.json').read_bytes()
    code, err = call(['register', str(fixed/'b.tif'), str(moving/'b.tif'), '--method', 'ssd'])
    assert code == 1 and 'holds another registration' in err and '--overwrite' in err
    assert (tmp_path/'registered'/'transform.json').read_bytes() == before
    assert _main(['register', str(fixed/'b.tif'), str(moving/'b.tif'), '--method', 'ssd', '--overwrite']) == 0
    assert json.loads((tmp_path/'registered'/'transform.json').read_text())['fixed'].endswith('b.tif')
    assert not (tmp_path/'registered'/'a_registered.tif').exists()        # --overwrite removed the other's outputs


def test_an_input_inside_out_is_refused(tmp_path):
    fixed, moving = _pairs(tmp_path)
    code, err = call(['register', str(fixed/'a.tif'), str(moving/'a.tif'), '--out', str(fixed)])
    assert code == 1 and f'holds the input {fixed/"a.tif"}' in err
    assert sorted(p.name for p in fixed.iterdir()) == ['a.tif', 'b.tif', 'c.tif']


def test_infer_over_two_folders_with_one_name_is_refused(tmp_path):
    run_dir = _trained(tmp_path)
    for d in ('one', 'two'):
        (tmp_path/d).mkdir(); tifffile.imwrite(tmp_path/d/'x.tif', np.random.default_rng(0).random((64, 64)).astype(np.float32))
    code, err = call(['infer', '--run', str(run_dir), '--modality', 'A', str(tmp_path/'one'), str(tmp_path/'two'), '--out', str(tmp_path/'out')])
    assert code == 1 and f"{tmp_path/'one'/'x.tif'} and {tmp_path/'two'/'x.tif'} would both write x_comir.png" in err
    assert not (tmp_path/'out').exists()


def _trained(tmp_path) -> Path:
    code, err = call(['train', *SMALL, '--steps', '2', '--out', str(tmp_path/'run')])
    assert code == 0, err
    return tmp_path/'run'


# ---- one writer per folder: a second study on a folder in use refuses at once and names the holder
def test_two_studies_on_one_folder(tmp_path):
    out = tmp_path/'study'
    args = [CORE, 'study', '--data', 'synthetic', '--critics', 'mse', '--supervision', 'none', '--methods', 'fftmi',
            '--steps', '200', '--n-test', '1', '--out', str(out)]
    first = start(args)
    deadline = time.time() + 120
    while time.time() < deadline and not (out/'.corepreg.lock').exists(): time.sleep(0.02)
    t0 = time.time()
    second = run(args, timeout=120)
    assert second.returncode == 1 and time.time() - t0 < 30
    assert f'is in use by process {first.pid}' in second.stderr and 'corepreg study' in second.stderr
    first.send_signal(signal.SIGINT); first.communicate(timeout=120)
    assert not (out/'.corepreg.lock').exists()                             # released on the way out


# ---- a run's config is its identity: `train --resume` with options that change the run is refused, listing them
def test_resume_with_other_options_is_refused(tmp_path):
    run_dir = _trained(tmp_path)
    before = (run_dir/'checkpoint.pt').read_bytes()
    code, err = call(['train', '--resume', str(run_dir), '--lr', '0.5', '--critic', 'l1'])
    assert code == 1 and "loss.critic: 'mse' there, 'l1' now" in err and 'optim.lr: 0.01 there, 0.5 now' in err
    assert (run_dir/'checkpoint.pt').read_bytes() == before
    code, err = call(['train', '--resume', str(run_dir), '--steps', '3'])             # a run may be extended
    assert code == 0, err


# ---- bounds before work
@pytest.mark.parametrize('argv, culprit', [
    (['study', '--data', 'synthetic', '--n-test', '100000'], '--n-test 100000, --min-pairs 0) would need about'),
    (['train', *SMALL, '--patch', '6'], 'DataConfig.patch: 6 px does not fit this network'),
], ids=['n-test', 'patch'])
def test_values_out_of_range_are_refused_at_once(tmp_path, argv, culprit):
    t0 = time.time()
    code, err = call(argv + ['--out', str(tmp_path/'out')])
    assert code == 1 and culprit in err and time.time() - t0 < 20
    assert not (tmp_path/'out').exists()


def test_a_tiny_tile_is_refused_with_its_reason(tmp_path):
    code, err = call(['infer', '--run', str(tmp_path), '--modality', 'A', '--tile', '3', 'x.png', '--out', str(tmp_path/'out')])
    assert code == 2 and '--tile: must be ≥ 128 px, got 3: each tile carries 64 px of context' in err


# ---- files readable by others: a torn last row of results.csv is dropped from the file itself, with a warning
def test_a_torn_results_file_is_repaired(tmp_path):
    out = tmp_path/'study'
    args = ['study', '--data', 'synthetic', '--supervision', 'none', '--critics', 'mse', '--methods', 'fftmi', '--steps', '2',
            '--n-test', '1', '--out', str(out)]
    assert call(args)[0] == 0
    whole = pd.read_csv(out/'results.csv')
    text = (out/'results.csv').read_text()
    (out/'results.csv').write_text(text + text.splitlines()[-1][:25])       # a writer killed mid-row, as another tool might be
    with pytest.warns(UserWarning, match='did not parse whole'):
        from corepreg.study import read_results
        read_results(out)
    pd.testing.assert_frame_equal(pd.read_csv(out/'results.csv'), whole)  # pandas reads it whole again


def test_shards_share_a_folder_and_a_whole_run_waits_for_them(tmp_path):
    "Shards on one folder (a job array) run side by side; a whole run is refused while one of them runs."
    out = tmp_path/'study'; out.mkdir()
    (out/'.corepreg.shard-2-of-2.lock').write_text(json.dumps({'pid': 1, 'host': os.uname().nodename, 'command': 'corepreg study --shard 2/2'}))
    args = ['study', '--data', 'synthetic', '--supervision', 'none', '--critics', 'mse', '--methods', 'fftmi', '--steps', '2',
            '--n-test', '1', '--out', str(out)]
    code, err = call(args + ['--shard', '1/2'])
    assert code == 0, err
    code, err = call(args)
    assert code == 1 and 'is in use by process 1' in err and '--shard 2/2' in err


def test_a_study_goes_on_past_a_failing_cell_and_retries_it(tmp_path, capsys):
    "A cell that fails (here: its training diverges) is recorded with its reason; the grid goes on; exit 1; a rerun retries it."
    from unittest import mock
    import corepreg.study as S
    from corepreg.train import TrainingError
    real, out = S.run_cell, tmp_path/'study'
    def flaky(grid, cell, *a, **kw):
        if cell.supervision == 'none': raise TrainingError('the loss is nan at step 2; training stopped')
        return real(grid, cell, *a, **kw)
    args = ['study', '--data', 'synthetic', '--supervision', 'none,pooled', '--critics', 'mse', '--methods', 'fftmi', '--steps', '2',
            '--n-test', '1', '--out', str(out)]
    with mock.patch.object(S, 'run_cell', flaky): code = _main(args)
    printed = capsys.readouterr().out.strip().splitlines()
    assert code == 1
    assert printed[-1].startswith('1 cell(s) failed (synthetic-f1-s0-none-mse); the reasons are in')
    failed = pd.read_csv(out/'failures.csv')
    assert list(failed.cell_id) == ['synthetic-f1-s0-none-mse'] and 'loss is nan' in failed.reason[0]
    assert set(pd.read_csv(out/'results.csv').cell_id) == {'synthetic-f1-raw', 'synthetic-f1-s0-pooled-mse'}   # the later cell ran
    assert _main(args) == 0 and not (out/'failures.csv').exists()
    assert 'synthetic-f1-s0-none-mse' in set(pd.read_csv(out/'results.csv').cell_id)
