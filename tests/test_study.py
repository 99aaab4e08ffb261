"""The study grid as a user runs it: the command, kill -9 and resume, refusing another grid, write errors."""
import errno, os, signal, subprocess, time
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest

from conftest import ROOT, VENV_BIN, run
from corepreg.study import StudyGrid, cells, read_results, run_study

CORE = str(VENV_BIN/'corepreg')
TINY = ['--data', 'synthetic', '--critics', 'mse', '--supervision', 'none,pooled', '--methods', 'fftmi',
        '--steps', '4', '--n-test', '1']
COLUMNS = ['cell_id', 'dataset', 'representation', 'supervision', 'critic', 'seed', 'fold', 'method', 'success_rate',
           'success_level1', 'success_level2', 'success_level3', 'success_level4', 'median_error', 'register_seconds',
           'train_seconds', 'effective_rank_bottleneck', 'effective_rank_output']


def test_study_command_writes_results_and_report(tmp_path):
    r = run([CORE, 'study', *TINY, '--out', str(tmp_path)])
    assert r.returncode == 0, r.stderr
    res = pd.read_csv(tmp_path/'results.csv')
    assert list(res.columns[:len(COLUMNS)]) == COLUMNS
    assert sorted(res.cell_id + '/' + res.method) == ['synthetic-f1-raw/fftmi', 'synthetic-f1-raw/mi',
                                                       'synthetic-f1-s0-none-mse/fftmi', 'synthetic-f1-s0-pooled-mse/fftmi']
    assert res.success_rate.between(0, 1).all()
    comir = res[res.representation == 'comir']
    assert (comir.effective_rank_bottleneck >= 1).all() and (comir.train_seconds > 0).all()
    assert res[res.representation == 'raw'].supervision.isna().all()      # empty model fields for the baselines
    assert 'supervision  mse' in r.stdout and '**' not in r.stdout and 'report.md' in r.stdout   # clean text; report.md keeps the markdown
    md = (tmp_path/'report.md').read_text()
    assert '| supervision | mse |' in md
    recs = pd.concat([pd.read_csv(f) for f in (tmp_path/'records').glob('*.csv')])   # failures are counted by reason in the report
    n_failed = int(recs.failed.sum())
    assert ('**Failed registrations**: none' in md) == (n_failed == 0)
    assert n_failed == sum(int(l.split('|')[-3]) for l in md.splitlines() if l.startswith(('| raw |', '| CoMIRs |')))
    assert (tmp_path/'synthetic.png').stat().st_size > 5000 and (tmp_path/'command.json').exists()
    # rerun: nothing to do; another grid in the same folder: refused with the reason
    r = run([CORE, 'study', *TINY, '--out', str(tmp_path)])
    assert r.returncode == 0 and '0 to run' in r.stdout
    r = run([CORE, 'study', *TINY[:-2], '--n-test', '2', '--out', str(tmp_path)])
    assert r.returncode != 0 and 'holds the results of a different grid (n_test: 1 there, 2 now)' in r.stderr


def test_study_command_rejects_unknown_names(tmp_path):
    for opt, bad, msg in (('--data', 'zurich', "valid datasets are ['synthetic', 'ihc', 'folder', 'isl', 'histological', 'cytological']"),
                          ('--methods', 'elastix', "valid ones are ['fftmi', 'mi', 'sift', 'ssd']"),
                          ('--critics', 'dot', "unknown critics ['dot']"),
                          ('--supervision', 'deep', "unknown supervision ['deep']; valid ones are ['none', 'pooled', 'projected', 'dense']")):
        r = run([CORE, 'study', opt, bad, '--out', str(tmp_path)])
        assert r.returncode != 0 and msg in r.stderr, (opt, r.stderr)
    r = run([CORE, 'study', '--data', 'folder', '--out', str(tmp_path)])
    assert r.returncode != 0 and '--data folder needs --a DIR and --b DIR' in r.stderr


def test_kill_9_mid_study_then_resume(tmp_path):
    "Kill a study after its first cells, rerun it: it ends with exactly one row per cell and method."
    out = tmp_path/'study'
    args = [CORE, 'study', '--data', 'synthetic', '--critics', 'mse', '--supervision', 'none,pooled,dense',
            '--methods', 'fftmi', '--steps', '30', '--n-test', '1', '--out', str(out)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        res = read_results(out) if (out/'results.csv').exists() else pd.DataFrame()
        if len(res) >= 3: break          # the raw baseline (2 rows) and one trained cell
        time.sleep(0.1)
    assert proc.poll() is None, "the study finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL); proc.wait()
    before = read_results(out)
    assert 3 <= len(before) < 5
    r = run(args, timeout=600)
    assert r.returncode == 0, r.stderr
    res = pd.read_csv(out/'results.csv')
    assert len(res) == 5 and not res.duplicated(['cell_id', 'method']).any()
    assert set(res.cell_id) == {c.id for c in cells(StudyGrid(datasets=('synthetic',), critics=('mse',),
                                                                supervision=('none', 'pooled', 'dense'), methods=('fftmi',)))}


def test_shards_merge_by_concatenation(tmp_path):
    grid = StudyGrid(datasets=('synthetic',), critics=('mse',), supervision=('none',), methods=('fftmi',), steps=2, n_test=1)
    for i in (1, 2): run_study(grid, tmp_path, f'{i}/2', progress=False, log=lambda *a: None)
    shards = sorted(tmp_path.glob('results.shard-*.csv'))
    assert [p.name for p in shards] == ['results.shard-1-of-2.csv', 'results.shard-2-of-2.csv']
    merged = pd.concat([pd.read_csv(p) for p in shards])
    assert sorted(merged.cell_id + merged.method) == sorted(read_results(tmp_path).cell_id + read_results(tmp_path).method)
    assert len(merged) == 3


def test_disk_full_keeps_earlier_rows(tmp_path):
    "A write error (disk full) names the file and leaves the rows already written intact."
    import corepreg.study as S
    grid = StudyGrid(datasets=('synthetic',), critics=('mse',), supervision=('none',), methods=('fftmi',), steps=2, n_test=1)
    real = S.atomic_write
    def full(path, data):
        if Path(path).name == 'results.csv' and Path(path).exists(): raise OSError(errno.ENOSPC, 'No space left on device')
        return real(path, data)
    with mock.patch.object(S, 'atomic_write', full), pytest.raises(OSError, match=r'cannot write the results to .*results.csv \(No space left on device\); the 2 rows written before are intact'):
        run_study(grid, tmp_path, progress=False, log=lambda *a: None)
    assert len(pd.read_csv(tmp_path/'results.csv')) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.results')]
