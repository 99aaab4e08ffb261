"""The study grid as a user runs it: the command, kill -9 and resume, refusing another grid, write errors."""
import errno, json, os, signal, subprocess, time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, VENV_BIN, run, start
from corepreg.data import DataConfig
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
    comir = res[res.representation == 'comir']
    assert (comir.effective_rank_bottleneck >= 1).all() and (comir.train_seconds > 0).all()
    n = res.cell_id.nunique()                                                              # a line as each cell starts, in a log too
    starts = [l for l in r.stdout.splitlines() if l.startswith('[')]
    assert [l.split(':')[0] for l in starts] == [f'[{k}/{n}] {c}' for k, c in enumerate(dict.fromkeys(res.cell_id), 1)], r.stdout
    assert 'training 4 steps, then registering' in starts[1] and 'with fftmi (' in starts[1] and 'with mi, fftmi (' in starts[0]
    assert res[res.representation == 'raw'].supervision.isna().all()      # empty model fields for the baselines
    assert 'supervision  mse' in r.stdout and '**' not in r.stdout and 'report.md' in r.stdout   # clean text; report.md keeps the markdown
    md = (tmp_path/'report.md').read_text()
    assert '| supervision | mse |' in md
    recs = pd.concat([pd.read_csv(f) for f in (tmp_path/'records').glob('*.csv')])   # failures are counted by reason in the report
    rates = recs.groupby(['cell_id', 'method']).success.mean()                          # each row's rate is its pairs' share
    assert all(rates[(r.cell_id, r.method)] == pytest.approx(r.success_rate) for r in res.itertuples())
    n_failed = int(recs.failed.sum())
    assert ('**Failed registrations**: none' in md) == (n_failed == 0)
    assert n_failed == sum(int(l.split('|')[-3]) for l in md.splitlines() if l.startswith(('| raw |', '| CoMIRs |')))
    assert (tmp_path/'synthetic.png').stat().st_size > 5000
    per_image = {l.split('|')[1].strip(): float(l.split('|')[3]) for l in md.splitlines() if l.startswith('| synthetic-')}
    none = recs[recs.cell_id == 'synthetic-f1-s0-none-mse'].groupby('name').success.mean()   # the plain CoMIR's success per image
    assert per_image == pytest.approx(none.round(2).to_dict()) and len(per_image) == 1
    # tools/comir_images.py on the plain CoMIR's cell: its per-patch r average to the comir_r that the study recorded
    name = next(iter(per_image))
    r = run([str(VENV_BIN/'python'), 'tools/comir_images.py', str(tmp_path/'runs'/'synthetic-f1-s0-none-mse'), str(tmp_path),
             '--dataset', 'synthetic', '--names', name, '--out', str(tmp_path/'diag'/'img')])
    assert r.returncode == 0, r.stderr
    info = json.loads((tmp_path/'diag'/'img.json').read_text())
    mean_r = sum(p['r'] for p in info['r_per_patch']) / len(info['r_per_patch'])
    assert mean_r == pytest.approx(res[res.cell_id == 'synthetic-f1-s0-none-mse'].comir_r.iloc[0], abs=1e-3)
    assert list(info['r_per_image']) == [name] and (tmp_path/'diag'/'img.png').stat().st_size > 5000
    inv = json.loads((tmp_path/'command.json').read_text())['invocations']                # what this invocation did
    assert [(i['finished'], i['cells_finished']) for i in inv] == [(True, sorted(set(res.cell_id)))]
    # the paired comparison of pooled with none: on the same pairs, in comparisons.csv and in the report
    cmp = pd.read_csv(tmp_path/'comparisons.csv')
    assert list(cmp.columns[:13]) == ['dataset', 'critic', 'method', 'supervision', 'baseline', 'difference', 'ci_low', 'ci_high',
                                      'p_value', 'p_holm', 'n_pairs', 'n_seeds', 'verdict']
    assert cmp[['supervision', 'baseline', 'method', 'n_pairs', 'n_seeds']].values.tolist() == [['pooled', 'none', 'fftmi', 4, 1]]
    rates = res.set_index('cell_id').success_rate
    assert cmp.difference[0] == pytest.approx(rates['synthetic-f1-s0-pooled-mse'] - rates['synthetic-f1-s0-none-mse'])
    assert cmp.ci_low[0] <= cmp.difference[0] <= cmp.ci_high[0] and cmp.verdict[0] in ('better', 'worse', 'no detectable difference')
    assert '**Paired comparisons with the plain CoMIR**' in md and f"| {cmp.verdict[0]} |" in md
    # rerun: nothing to do; another grid in the same folder: refused with the reason
    r = run([CORE, 'study', *TINY, '--out', str(tmp_path)])
    assert r.returncode == 0 and '0 to run' in r.stdout
    r = run([CORE, 'study', *TINY[:-2], '--n-test', '2', '--out', str(tmp_path)])
    assert r.returncode != 0 and 'holds the results of a different grid (n_test: 1 there, 2 now)' in r.stderr
    # tools/replay_raw.py registers the raw baselines again: the same images agree pair by pair; a changed record is found
    replay = [str(VENV_BIN/'python'), 'tools/replay_raw.py', str(tmp_path), '--methods', 'fftmi,mi']
    r = run(replay)
    assert r.returncode == 0 and r.stdout.count(': agrees') == 2, r.stdout + r.stderr
    raw = tmp_path/'records'/'synthetic-f1-raw.csv'
    rec = pd.read_csv(raw); rec.loc[rec.method == 'fftmi', 'error'] += 1e-6; rec.to_csv(raw, index=False)
    r = run(replay)
    assert r.returncode == 1 and 'fftmi' in r.stdout and 'DIFFERS' in r.stdout, r.stdout + r.stderr


def test_study_command_rejects_unknown_names(tmp_path):
    for opt, bad, msg in (('--data', 'zurich', "valid datasets are ['synthetic', 'ihc', 'folder', 'isl', 'histological', 'cytological', 'uwloci']"),
                          ('--methods', 'elastix', "valid ones are ['fftmi', 'mi', 'sift', 'ssd']"),
                          ('--critics', 'dot', "unknown critics ['dot']"),
                          ('--supervision', 'deep', "unknown supervision ['deep']; valid ones are ['none', 'pooled', 'projected', 'dense']")):
        r = run([CORE, 'study', opt, bad, '--out', str(tmp_path)])
        assert r.returncode != 0 and msg in r.stderr, (opt, r.stderr)
    r = run([CORE, 'study', '--data', 'folder', '--out', str(tmp_path)])
    assert r.returncode != 0 and '--data folder needs --a DIR and --b DIR' in r.stderr


def test_a_folder_grid_goes_on_only_with_the_images_it_started_on(tmp_path):
    """A study on folders records the pixels' digest of --a and --b in each invocation and says so in its report; rerun after
    one pixel of one --b image changed, it refuses before any work and names the folder option, keeping every file."""
    import tifffile
    from skimage.transform import resize
    from corepreg.images import image_digest
    a, b, out = tmp_path/'A', tmp_path/'B', tmp_path/'study'
    for d in (a, b): d.mkdir()
    for k in range(4):
        img = (resize(np.random.default_rng(k).random((24, 24)), (256, 256), order=3) * 255).astype(np.uint8)
        tifffile.imwrite(a/f'c{k}.tif', img); tifffile.imwrite(b/f'c{k}.tif', 255 - img)
    args = [CORE, 'study', '--data', 'folder', '--a', str(a), '--b', str(b), '--critics', 'mse', '--supervision', 'none',
            '--methods', 'fftmi', '--steps', '2', '--folds', '1', '--out', str(out)]
    r = run(args)
    assert r.returncode == 0, r.stderr
    inv = json.loads((out/'command.json').read_text())['invocations']
    assert inv[0]['inputs'] == {'a': image_digest(a), 'b': image_digest(b)} and inv[0]['only_folds'] == []
    assert (f"Images read: --a 4 images (SHA-256 {image_digest(a)['sha256'][:12]}…), --b 4 images"
            in (out/'report.md').read_text())
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    img = tifffile.imread(b/'c2.tif'); img[5, 5] ^= 1; tifffile.imwrite(b/'c2.tif', img)
    r = run(args)
    assert r.returncode != 0 and f"{out}: --b now holds other images (4 images, SHA-256 {image_digest(b)['sha256'][:12]}" in r.stderr, r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before       # nothing rewritten


def test_kill_9_mid_study_then_resume(tmp_path):
    """Kill a study after its first cells, rerun it: it ends with exactly one row per cell and method, and command.json keeps
    both invocations, the killed one with the cells it finished."""
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
    killed = json.loads((out/'command.json').read_text())['invocations']     # recorded cell by cell: -9 cannot be caught
    assert [i['finished'] for i in killed] == [False] and 'synthetic-f1-raw' in killed[0]['cells_finished'], killed
    assert set(killed[0]['cells_finished']) <= set(before.cell_id)     # (-9 may land between a cell's rows and its record)
    r = run(args, timeout=600)
    assert r.returncode == 0, r.stderr
    inv = json.loads((out/'command.json').read_text())['invocations']
    res = pd.read_csv(out/'results.csv')
    assert [i['finished'] for i in inv] == [False, True] and inv[0] == killed[0], inv    # the killed run's record is kept
    assert set(inv[1]['cells_finished']) == set(res.cell_id) - set(before.cell_id)
    assert len(res) == 5 and not res.duplicated(['cell_id', 'method']).any()
    assert set(res.cell_id) == {c.id for c in cells(StudyGrid(datasets=('synthetic',), critics=('mse',),
                                                                supervision=('none', 'pooled', 'dense'), methods=('fftmi',)))}


def test_shards_merge_by_concatenation(tmp_path):
    "Two shards, merged by concatenating their files, give the rows of one run without shards, number for number."
    grid = StudyGrid(datasets=('synthetic',), critics=('mse',), supervision=('none',), methods=('fftmi',), steps=2, n_test=1)
    for i in (1, 2): run_study(grid, tmp_path/'sharded', f'{i}/2', progress=False, log=lambda *a: None)
    whole = run_study(grid, tmp_path/'whole', progress=False, log=lambda *a: None)
    shards = sorted((tmp_path/'sharded').glob('results.shard-*.csv'))
    assert [p.name for p in shards] == ['results.shard-1-of-2.csv', 'results.shard-2-of-2.csv']
    merged = pd.concat([pd.read_csv(p) for p in shards])
    key = ['cell_id', 'method']
    cols = key + ['success_rate', 'median_error', 'effective_rank_bottleneck', 'n_pairs']
    a = merged[cols].sort_values(key).reset_index(drop=True); b = whole[cols].sort_values(key).reset_index(drop=True)
    assert len(a) == 3
    pd.testing.assert_frame_equal(a, b, check_dtype=False)          # training and registration are seeded: same numbers


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


def test_evaluation_pairs_reach_min_pairs_and_the_patch_never_shrinks(tmp_path):
    "min_pairs cuts more patches per held-out image, the same set every time; a small image is left out by name, never shrinks the patch."
    import numpy as np, warnings
    from skimage import io as skio
    from corepreg.data import DataError
    from corepreg.study import eval_set
    g = StudyGrid(datasets=('synthetic',), preset='quick', n_test=3, min_pairs=30)
    recs = eval_set(g, 'synthetic', 1)
    assert len(recs) == 36 and {r.fixed.shape for r in recs} == {(160, 160)}          # 3 images × 3 patches × 4 levels ≥ 30
    assert len({(r.name, r.meta['offset']) for r in recs}) == 9
    assert [r.transform for r in eval_set(g, 'synthetic', 1)] == [r.transform for r in recs]   # identical for every cell
    # folder data whose evaluation half holds one small image among large ones
    rng = np.random.default_rng(0)
    for m in ('A', 'B', 'TA', 'TB'): (tmp_path/m).mkdir()
    for n, size in (('big1', 300), ('big2', 300), ('small', 100)):
        img = (rng.random((size, size)) * 255).astype(np.uint8)
        for m in ('TA', 'TB'): skio.imsave(tmp_path/m/f'{n}.png', img, check_contrast=False)
    fg = StudyGrid(datasets=('folder',), preset='standard', min_pairs=0,
                   data=DataConfig(folder_a=str(tmp_path/'A'), folder_b=str(tmp_path/'B'), test_folder_a=str(tmp_path/'TA'), test_folder_b=str(tmp_path/'TB')))
    with pytest.warns(UserWarning, match=r"smaller than the protocol's patch of 256 px are left out: \['small \(100, 100\)'\]"):
        recs = eval_set(fg, 'folder', 1)
    assert {r.fixed.shape for r in recs} == {(256, 256)} and {r.name for r in recs} == {'big1', 'big2'}
    for n in ('big1', 'big2'):
        for m in ('TA', 'TB'): (tmp_path/m/f'{n}.png').unlink()
    with pytest.raises(DataError, match="every evaluation image is smaller than the protocol's patch of 256 px"):
        eval_set(fg, 'folder', 1)


def test_real_data_presets_default_to_three_seeds_and_100_pairs():
    from corepreg.cli import grid_from_args, parser
    p = parser()
    quick = grid_from_args(p.parse_args(['study']))
    std = grid_from_args(p.parse_args(['study', '--preset', 'standard', '--data', 'isl']))
    assert (quick.seeds, quick.min_pairs) == (1, 0) and (std.seeds, std.min_pairs) == (3, 100)
    assert grid_from_args(p.parse_args(['study', '--preset', 'standard', '--seeds', '2', '--min-pairs', '0'])).seeds == 2
    from corepreg.study import STUDY_PRESETS
    assert [STUDY_PRESETS['full'].eval_patch(d) for d in ('histological', 'cytological')] == [834, 300]   # MultiRegEval's patches


@pytest.mark.parametrize('sig, code, said', [('SIGINT', 130, 'interrupted'), ('SIGTERM', 143, 'stopped (SIGTERM)')])
def test_ctrl_c_or_kill_mid_study_is_recorded_in_command_json(tmp_path, sig, code, said):
    "Ctrl-C or `kill` during a study: exit 130 / 143, the finished cells kept, and command.json records the invocation as unfinished, with the cells it finished."
    import json, signal, subprocess, time
    cmd = [CORE, 'study', '--data', 'synthetic', '--critics', 'mse', '--supervision', 'none', '--methods', 'fftmi',
           '--steps', '2000', '--n-test', '1', '--out', str(tmp_path)]
    proc = start(cmd)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and not (tmp_path/'results.csv').exists() and proc.poll() is None: time.sleep(0.1)
        time.sleep(1.0)                                     # now training the second cell
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None: proc.kill()                 # never leave a study running behind a failed test
    assert proc.returncode == code and 'Traceback' not in err and f'corepreg study: {said}; everything finished is saved' in err, err
    rec = json.loads((tmp_path/'command.json').read_text())
    assert rec['finished'] is False and [i['finished'] for i in rec['invocations']] == [False]
    assert rec['invocations'][0]['cells_finished'] == ['synthetic-f1-raw']
    assert rec['commit'] and rec['seconds'] > 0 and rec['command'].startswith('corepreg study')
    assert list(pd.read_csv(tmp_path/'results.csv').cell_id.unique()) == ['synthetic-f1-raw']   # the finished cell is kept


def test_continue_grid_starts_every_shard_of_the_latest_command_or_says_why_not(project_copy):
    "tools/continue_grid.py: each shard of the committed command, once; refused where an input folder is missing or the precision differs."
    res = project_copy/'results'/'g'; res.mkdir(parents=True); (project_copy/'runs').mkdir()
    (res/'grid.json').write_text(StudyGrid(datasets=('synthetic',), critics=('mse',), supervision=('none',)).to_json())
    cmd = 'corepreg study --data folder --a A --b runs/B --critics mse --shard 1/3 --out runs/g'
    (res/'command.json').write_text(json.dumps({'command': cmd}))
    tool = [str(VENV_BIN/'python'), 'tools/continue_grid.py', 'g', '--dry-run']
    (project_copy/'A').mkdir()
    r = run(tool, cwd=project_copy)
    assert r.returncode == 1 and 'input folder(s) are missing: --b runs/B' in r.stderr and 'NOTE.md' in r.stderr, r.stderr
    (project_copy/'runs'/'B').mkdir()
    r = run(tool + ['--precision', 'bfloat16'], cwd=project_copy)       # the quick preset trains in float32 everywhere
    assert r.returncode == 1 and 'this machine would train in float32, not bfloat16' in r.stderr, r.stderr
    r = run(tool + ['--precision', 'float32'], cwd=project_copy)
    assert r.returncode == 0, r.stderr
    starts = [l for l in r.stdout.splitlines() if l.startswith('would start: ')]
    assert [l.split('--shard ')[1].split()[0] for l in starts] == ['1/3', '2/3', '3/3'] and all('--out runs/g >> runs/g-shard' in l for l in starts)
    assert not (project_copy/'runs'/'g').exists()                          # a dry run copies and starts nothing
