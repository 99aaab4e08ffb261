"""Trainer faults that need real processes: kill -9 and resume, a kill in the middle of a checkpoint write,
a 2-process torchrun (gloo) run, and the command line's errors."""
import json, os, shutil, signal, subprocess, time
import tifffile
from pathlib import Path
from unittest import mock

import pytest
import numpy as np
import torch

from conftest import ROOT, VENV_BIN, run, start
from corepreg.train import (CHECKPOINT, PREVIOUS, TRAIN_PRESETS, CheckpointError, load_checkpoint, read_log,
                            save_checkpoint, train)

SMALL = ['--preset', 'quick', '--patch', '32', '--batch', '4', '--n-pairs', '2', '--image-size', '96']
CORE = str(VENV_BIN/'corepreg')


def _weights(run_dir):
    return load_checkpoint(Path(run_dir)/CHECKPOINT)['models']


def _running(cmd, out, steps:int):
    "`cmd` started in the background, returned once its run in `out` has logged `steps` steps (and is still running)."
    proc = start(cmd)
    deadline = time.time() + 240
    while time.time() < deadline:
        if len(read_log(out)) >= steps or proc.poll() is not None: break
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it could be stopped: {proc.communicate()}"
    return proc


def test_kill_9_then_resume(tmp_path):
    "A run killed with SIGKILL continues from its last checkpoint and ends where an unkilled run ends."
    out = tmp_path/'killed'
    cmd = [CORE, 'train', *SMALL, '--steps', '120', '--checkpoint-every', '10', '--out', str(out)]
    proc = _running(cmd, out, 25)
    os.kill(proc.pid, signal.SIGKILL); proc.wait()
    killed_at = len(read_log(out))
    assert 25 <= killed_at < 120
    ck = load_checkpoint(out/CHECKPOINT)['step']
    assert ck % 10 == 0 and ck <= killed_at
    r = run([CORE, 'train', '--resume', str(out)], timeout=600)
    assert r.returncode == 0, r.stderr
    assert 'at step 120/120' in r.stdout
    steps = [rec['step'] for rec in read_log(out)]
    assert steps == list(range(1, 121)), "every step logged exactly once"
    # the same config, never killed, ends with the same weights and losses
    ref = tmp_path/'straight'
    r = run([CORE, 'train', *SMALL, '--steps', '120', '--checkpoint-every', '10', '--out', str(ref)], timeout=600)
    assert r.returncode == 0, r.stderr
    a, b = _weights(out), _weights(ref)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [x['total'] for x in read_log(out)] == [x['total'] for x in read_log(ref)]


def test_kill_during_checkpoint_write_keeps_previous(tmp_path):
    "A process dying half-way through writing a checkpoint leaves the previous one loadable."
    cfg = TRAIN_PRESETS['quick'].replace(steps=4, checkpoint_every=2, patch=32, batch=4, n_pairs=2, image_size=96)
    train(cfg, tmp_path, progress=False)
    good = load_checkpoint(tmp_path/CHECKPOINT)
    def dies_half_way(obj, f, *a, **k):
        f.write(b'PK\x03\x04 half a checkpoint'); f.flush()
        raise KeyboardInterrupt('killed mid-write')
    with mock.patch.object(torch, 'save', dies_half_way), pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, {**good, 'step': 99})
    assert load_checkpoint(tmp_path/CHECKPOINT)['step'] == 4
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith('.')], "no temporary file left behind"
    # a truncated newest checkpoint: clear error naming it; resuming falls back to the previous one
    data = (tmp_path/CHECKPOINT).read_bytes(); (tmp_path/CHECKPOINT).write_bytes(data[:100])
    with pytest.raises(CheckpointError, match='checkpoint.pt: cannot be read'):
        load_checkpoint(tmp_path/CHECKPOINT)
    assert load_checkpoint(tmp_path/PREVIOUS)['step'] == 2
    with pytest.warns(UserWarning, match='resuming from checkpoint.prev.pt; set aside as checkpoint.broken-1.pt'):
        s = train(cfg, tmp_path, progress=False)
    assert s['step'] == 4 and load_checkpoint(tmp_path/CHECKPOINT)['step'] == 4
    # nothing lost: the damaged file is kept under another name, and it never replaced the good backup
    assert (tmp_path/'checkpoint.broken-1.pt').read_bytes() == data[:100]
    assert load_checkpoint(tmp_path/PREVIOUS)['step'] == 2


def test_ctrl_c_is_one_line_and_resumable(tmp_path):
    "Ctrl-C (SIGINT) during `corepreg train`: exit 130, one line saying that finished work is kept, no traceback; rerun continues."
    out = tmp_path/'run'
    cmd = [CORE, 'train', *SMALL, '--steps', '400', '--checkpoint-every', '10', '--out', str(out)]
    proc = _running(cmd, out, 15)
    proc.send_signal(signal.SIGINT)
    try: _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None: proc.kill()   # never leave a run behind a failed test
    assert proc.returncode == 130, err
    assert 'Traceback' not in err and 'corepreg train: interrupted; everything finished is saved: rerun the same command to continue' in err
    assert load_checkpoint(out/CHECKPOINT)['step'] >= 10
    r = run([CORE, 'train', *SMALL, '--steps', '30', '--checkpoint-every', '10', '--out', str(out)], timeout=600)
    assert r.returncode == 0 and 'at step 30/30' in r.stdout, r.stderr


def test_kill_during_results_write_keeps_the_rows(tmp_path):
    "A process dying half-way through appending results leaves the rows written before intact, and no temporary file."
    import pandas as pd
    from corepreg import study
    from corepreg.core import atomic_open
    path = tmp_path/'results.csv'
    row = {'cell_id': 'c1', 'dataset': 'synthetic', 'representation': 'raw', 'method': 'mi', 'success_rate': 0.5, 'n_pairs': 4}
    study.append_rows(path, [row])
    before = path.read_bytes()
    def dies_half_way(p, data):
        with atomic_open(p, 'w') as f:
            f.write(data[:len(data) // 2]); f.flush()
            raise KeyboardInterrupt('killed mid-write')
    with mock.patch.object(study, 'atomic_write', dies_half_way), pytest.raises(KeyboardInterrupt):
        study.append_rows(path, [{**row, 'cell_id': 'c2'}])
    assert path.read_bytes() == before and list(pd.read_csv(path).cell_id) == ['c1']
    assert [p.name for p in tmp_path.iterdir()] == ['results.csv'], "no temporary file left behind"


def test_torchrun_two_processes_gloo(tmp_path):
    "torchrun with 2 CPU processes: DDP over gloo trains, rank 0 alone writes one log and one checkpoint."
    out = tmp_path/'ddp'
    cmd = [str(VENV_BIN/'torchrun'), '--standalone', '--nproc_per_node=2', '--no-python', CORE, 'train', *SMALL,
           '--steps', '6', '--checkpoint-every', '6', '--out', str(out)]
    r = run(cmd, timeout=300, env={'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count('at step 6/6') == 2 and '2 process(es)' in r.stdout
    assert [x['step'] for x in read_log(out)] == list(range(1, 7))
    assert sorted(p.name for p in out.iterdir()) == ['checkpoint.pt', 'command.json', 'config.json', 'log.jsonl']   # no lock left
    assert len(json.loads((out/'command.json').read_text())['invocations']) == 1                          # one record, not one a process
    state = load_checkpoint(out/CHECKPOINT)
    assert state['step'] == 6
    # the two processes saw different patches: one process with the same seed gives other losses
    single = tmp_path/'single'
    r = run([CORE, 'train', *SMALL, '--steps', '6', '--checkpoint-every', '6', '--out', str(single)], timeout=300)
    assert r.returncode == 0, r.stderr
    assert [x['total'] for x in read_log(out)] != [x['total'] for x in read_log(single)]


def test_cli_errors(tmp_path):
    r = run([CORE, 'train', '--critic', 'dot', '--out', str(tmp_path/'x')])
    assert r.returncode != 0 and "invalid choice: 'dot'" in r.stderr
    r = run([CORE, 'train', '--resume', str(tmp_path/'nothing')])
    assert r.returncode != 0 and 'not a training run (no config.json)' in r.stderr
    r = run([CORE, 'train', *SMALL, '--steps', '2', '--out', str(tmp_path/'r')])
    assert r.returncode == 0, r.stderr
    r = run([CORE, 'train', *SMALL, '--steps', '2', '--critic', 'cosine', '--out', str(tmp_path/'r')])
    assert r.returncode != 0 and "belongs to another config (loss.critic: 'mse' there, 'cosine' now)" in r.stderr
    (tmp_path/'r'/'config.json').write_text(json.dumps({**json.loads((tmp_path/'r'/'config.json').read_text()), 'colour': 1}))
    r = run([CORE, 'train', '--resume', str(tmp_path/'r')])
    assert r.returncode != 0 and "unknown field(s) ['colour']" in r.stderr and 'config.json' in r.stderr


def test_infer_cli(tmp_path):
    "corepreg infer writes an 8-bit PNG and a float TIFF per image, the same as the Python call."
    import numpy as np, tifffile
    from skimage import io as skio
    from corepreg.infer import Representer
    run_dir = tmp_path/'run'
    assert run([CORE, 'train', *SMALL, '--steps', '2', '--out', str(run_dir)]).returncode == 0
    img = (np.random.default_rng(0).random((70, 90)) * 255).astype(np.uint8)
    skio.imsave(tmp_path/'pic.png', img, check_contrast=False)
    r = run([CORE, 'infer', '--run', str(run_dir), '--modality', 'B', str(tmp_path/'pic.png'), '--out', str(tmp_path/'c')])
    assert r.returncode == 0, r.stderr
    u8, f32 = skio.imread(tmp_path/'c'/'pic_comir.png'), tifffile.imread(tmp_path/'c'/'pic_comir.tif')
    assert u8.dtype == np.uint8 and u8.shape == (70, 90) and f32.shape == (70, 90)
    from corepreg.data import read_image, to_unit
    # the run trained on [0, 1] images (synthetic pairs), so infer scales the file to [0, 1] as well
    expect = Representer(run_dir).unquantised(to_unit(read_image(tmp_path/'pic.png')), 'B')
    np.testing.assert_allclose(f32, expect, atol=1e-5)
    # --rotations 4: the mean over four quarter turns, as `Representer(..., rotations=4)` gives it, and not the one-pass map
    r = run([CORE, 'infer', '--run', str(run_dir), '--modality', 'B', '--rotations', '4', str(tmp_path/'pic.png'), '--out', str(tmp_path/'c4')])
    assert r.returncode == 0, r.stderr
    f4 = tifffile.imread(tmp_path/'c4'/'pic_comir.tif')
    np.testing.assert_allclose(f4, Representer(run_dir, rotations=4).unquantised(to_unit(read_image(tmp_path/'pic.png')), 'B'), atol=1e-5)
    assert np.abs(f4 - f32).max() > 1e-4
    r = run([CORE, 'infer', '--run', str(run_dir), '--modality', 'B', '--rotations', '3', str(tmp_path/'pic.png'), '--out', str(tmp_path/'c3')])
    assert r.returncode != 0 and 'invalid choice: 3' in r.stderr
    r = run([CORE, 'infer', '--run', str(tmp_path/'nope'), '--modality', 'A', str(tmp_path/'pic.png'), '--out', str(tmp_path/'c')])
    assert r.returncode != 0 and 'no such checkpoint' in r.stderr


def _loss_and_grads(cfg, xa, xb, memory_format=torch.contiguous_format, amp=False):
    "The CoMIR loss and one network's gradients of `cfg`'s models, seeded, on one batch, through the trainer's own code path."
    from corepreg.train import _Autocast, build_models
    from corepreg.losses import comir_loss
    torch.manual_seed(0)
    models = build_models(cfg).to(memory_format=memory_format)
    nets = {m: (_Autocast(models[m].net, 'cpu') if amp else models[m].net) for m in ('A', 'B')}
    g = torch.Generator().manual_seed(1)
    total, parts = comir_loss(nets['A'], nets['B'], xa.to(memory_format=memory_format), xb.to(memory_format=memory_format),
                              cfg.loss, models['A'].head, models['B'].head, generator=g)
    total.backward()
    return float(total.detach()), torch.cat([p.grad.flatten() for p in models['A'].net.parameters()])


@pytest.mark.parametrize('supervision', ['none', 'dense'])
def test_fast_paths_give_the_same_loss(supervision):
    "Channels-last memory gives the float32 loss and gradients of the contiguous baseline; bfloat16 autocast agrees within its precision."
    cfg = TRAIN_PRESETS['quick'].replace(model='small', supervision=supervision)
    torch.manual_seed(2)
    xa, xb = torch.rand(6, 1, 64, 64), torch.rand(6, 1, 64, 64)
    base, gb = _loss_and_grads(cfg, xa, xb)
    cl, gc = _loss_and_grads(cfg, xa, xb, torch.channels_last)
    assert abs(cl - base) <= 1e-5 * max(1.0, abs(base))
    # float32 sums in another order; batch norm's backward over the 4×4 bottleneck amplifies the rounding to ~1 %
    assert (gc - gb).norm() <= 3e-2 * gb.norm()
    bf, gf = _loss_and_grads(cfg, xa, xb, torch.channels_last, amp=True)
    assert abs(bf - base) <= 2e-2 * max(1.0, abs(base))
    assert torch.nn.functional.cosine_similarity(gf, gb, dim=0) > 0.9   # bfloat16 keeps ~3 significant digits
    # and the test can fail: other inputs change the gradients by far more than the tolerance
    other, go = _loss_and_grads(cfg, xa, xb.flip(-1))
    assert (go - gb).norm() > 0.1 * gb.norm()


@pytest.mark.skipif(not (shutil.which('g++') or shutil.which('clang++')), reason='torch.compile on a CPU needs a C++ compiler')
def test_compiled_networks_train_as_the_eager_ones(tmp_path):
    "`compile=True` (torch.compile through the trainer) gives the eager run's losses, step by step, and its weights."
    from corepreg.train import load_run
    cfg = TRAIN_PRESETS['quick'].replace(steps=3, batch=4, patch=32, val_every=0)
    logs, nets = {}, {}
    for c in (False, True):
        train(cfg.replace(compile=c), tmp_path/str(c))
        logs[c] = [r['total'] for r in read_log(tmp_path/str(c))]
        nets[c] = torch.cat([p.flatten() for p in load_run(tmp_path/str(c))[1].parameters()])
    assert len(logs[True]) == 3 and np.allclose(logs[True], logs[False], rtol=1e-4), logs
    assert (nets[True] - nets[False]).norm() <= 1e-3 * nets[False].norm()
    assert abs(logs[False][0] - logs[False][2]) > 1e-3      # the steps moved the loss: a broken step would show


def test_bf16_default_is_per_device_and_the_recorded_presets_pin_float32(monkeypatch):
    "`amp=None` (the full preset's) means bfloat16 where it is faster (a CPU with native bfloat16, not a GPU); quick and standard pin float32, the command line can force either."
    import argparse
    from corepreg import train as T
    from corepreg.cli import add_config_options, config_from_args
    assert T.TRAIN_PRESETS['full'].amp is None and T.TrainConfig().amp is None
    assert T.TRAIN_PRESETS['quick'].amp is False and T.TRAIN_PRESETS['standard'].amp is False   # results/ were written in float32
    for amx, flags, fast in ((True, set(), True), (False, {'avx2', 'avx512f'}, False), (False, {'avx512f', 'avx512_bf16'}, True)):
        monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: amx, raising=False)
        monkeypatch.setattr(T, 'cpu_flags', lambda: flags)
        assert T.bf16_is_fast('cpu') is fast, (amx, flags)
    assert T.bf16_is_fast('cuda') is False   # measured slower on an H200 for these networks (benchmarks/results_train_gpu.json)
    p = add_config_options(argparse.ArgumentParser())
    full = T.TRAIN_PRESETS['full']
    assert [config_from_args(p.parse_args(a), full).amp for a in ([], ['--amp'], ['--no-amp'])] == [None, True, False]


def test_colour_images_are_made_grey_and_said_once(tmp_path):
    "RGB images in a modality are converted to grey; the run says so once on the terminal and keeps the note in config.json."
    import numpy as np
    from skimage import io as skio
    rng = np.random.default_rng(0)
    for m in ('A', 'B'): (tmp_path/m).mkdir()
    for n in ('c1', 'c2', 'c3', 'c4'):
        img = (rng.random((80, 80, 3)) * 255).astype(np.uint8)
        skio.imsave(tmp_path/'A'/f'{n}.png', img[..., 0], check_contrast=False)
        skio.imsave(tmp_path/'B'/f'{n}.png', img, check_contrast=False)
    out = tmp_path/'run'
    r = run([CORE, 'train', *SMALL, '--steps', '2', '--data', 'folder', '--a', str(tmp_path/'A'), '--b', str(tmp_path/'B'),
             '--out', str(out)])
    assert r.returncode == 0, r.stderr
    said = [l for l in r.stdout.splitlines() if 'converted to grey' in l]
    assert len(said) == 1 and 'modality B' in said[0] and '2 of 2 images were colour' in said[0], r.stdout  # fold half: 2 train
    notes = json.loads((out/'config.json').read_text())['notes']
    assert list(notes) == ['B'] and notes['B'] in said[0]
    r = run([CORE, 'train', '--resume', str(out)])                 # the note does not stop a resume
    assert r.returncode == 0, r.stderr



def test_colour_b_trains_network_b_on_rgb_and_infer_takes_rgb(tmp_path):
    "With --colour-b modality B stays RGB: nothing is made grey, network B takes 3 channels, `infer` reads B files in colour."
    import numpy as np
    from skimage import io as skio
    from corepreg.images import normalise, read_image
    from corepreg.infer import Representer
    from corepreg.train import load_run
    rng = np.random.default_rng(0)
    for m in ('A', 'B'): (tmp_path/m).mkdir()
    for n in ('c1', 'c2', 'c3', 'c4'):
        img = (rng.random((80, 80, 3)) * 255).astype(np.uint8)
        skio.imsave(tmp_path/'A'/f'{n}.png', img[..., 0], check_contrast=False)
        skio.imsave(tmp_path/'B'/f'{n}.png', img, check_contrast=False)
    out = tmp_path/'run'
    r = run([CORE, 'train', *SMALL, '--steps', '2', '--data', 'folder', '--a', str(tmp_path/'A'), '--b', str(tmp_path/'B'),
             '--colour-b', '--out', str(out)])
    assert r.returncode == 0, r.stderr
    assert 'converted to grey' not in r.stdout and 'notes' not in json.loads((out/'config.json').read_text())
    cfg, models = load_run(out)
    assert cfg.data.colour_b and models['B'].net.first.in_channels == 3 and models['A'].net.first.in_channels == 1
    r = run([CORE, 'infer', '--run', str(out), '--modality', 'B', str(tmp_path/'B'/'c1.png'), '--out', str(tmp_path/'c')])
    assert r.returncode == 0, r.stderr
    expect = Representer(out).unquantised(normalise(read_image(tmp_path/'B'/'c1.png', gray=False))[0], 'B')
    np.testing.assert_allclose(tifffile.imread(tmp_path/'c'/'c1_comir.tif'), expect, atol=1e-5)
    r = run([CORE, 'infer', '--run', str(out), '--modality', 'B', str(tmp_path/'A'/'c1.png'), '--out', str(tmp_path/'c')])
    assert r.returncode != 0 and f"is the CoMIR of {tmp_path/'B'/'c1.png'}, not of" in r.stderr, r.stderr   # never over another's
    r = run([CORE, 'infer', '--run', str(out), '--modality', 'B', str(tmp_path/'A'/'c1.png'), '--out', str(tmp_path/'c2')])
    assert r.returncode != 0 and 'takes an (H, W, 3) colour image' in r.stderr, r.stderr
    # register_pair through the run: the moving image goes through network B in colour, the fixed one through A in grey
    from corepreg.register import angle_options, register
    from corepreg.register_files import register_pair
    rep = Representer(out)
    est = register_pair(tmp_path/'A'/'c1.png', tmp_path/'B'/'c1.png', run=out, method='ssd')
    a = rep(normalise(read_image(tmp_path/'A'/'c1.png'))[0], 'A'); b = rep(normalise(read_image(tmp_path/'B'/'c1.png', gray=False))[0], 'B')
    ref = register(a, b, 'ssd', **angle_options('ssd', 'full'))
    assert (est.angle, est.tx, est.ty) == (ref.angle, ref.tx, ref.ty)


def test_raw_baselines_register_the_grey_of_a_colour_modality(tmp_path):
    "A colour B whose grey is the grey B gives the raw baselines the very same registrations, pair by pair."
    import numpy as np
    from corepreg.data import Pair, make_eval_set, synthetic_pair
    from corepreg.study import Cell, StudyGrid, run_cell
    p = synthetic_pair(192, seed=4)
    grey, colour = Pair(p.a, p.b, 'core'), Pair(p.a, np.repeat(p.b[..., None], 3, -1), 'core')   # luma of (b, b, b) is b
    recs = {k: make_eval_set([q], patch=128, levels=(1, 3), seed=2) for k, q in (('grey', grey), ('colour', colour))}
    assert recs['colour'][0].moving.shape == (128, 128, 3)
    res = {k: run_cell(StudyGrid(), Cell('folder', 1, 0), tmp_path, r)[1] for k, r in recs.items()}
    assert len(res['grey']) == 4
    np.testing.assert_allclose(res['colour'].error.to_numpy(), res['grey'].error.to_numpy(), atol=1e-3)


FIXTURES = Path(__file__).parent/'fixtures'


def test_files_written_before_the_config_parts_still_load(tmp_path):
    """A run folder written by the flat TrainConfig (commit 28bb1bc: `lam`, `l1`, `l2`, `data`, `a`, `b`, the model as a preset
    name) loads: its config reads into the parts, its checkpoint gives the very CoMIRs it gave then, and training resumes from it."""
    import json, shutil
    from corepreg.core import config_diff
    from corepreg.losses import LossConfig
    from corepreg.models import MODEL_PRESETS
    from corepreg.study import StudyGrid
    from corepreg.train import TrainConfig, load_run, resume
    old = FIXTURES/'run-before-config-parts'
    flat = json.loads((old/'config.json').read_text())
    assert {'lam', 'l2', 'data', 'a', 'model'} <= set(flat) and flat['model'] == 'tiny'          # really the old layout
    cfg = TrainConfig.from_json(old/'config.json')
    assert cfg.loss == LossConfig(critic='cosine', supervision='projected', bottleneck_weight=0.5, decay_l2=0.1, proj_dim=8)
    assert (cfg.data.source, cfg.data.patch, cfg.optim.batch, cfg.optim.steps) == ('ihc', 32, 2, 2)
    assert cfg.model == MODEL_PRESETS['tiny']
    cfg2, models = load_run(old)
    assert cfg2 == cfg
    want = json.loads((old/'expected.json').read_text())
    x = torch.linspace(0, 1, 32 * 32).reshape(1, 1, 32, 32)
    with torch.no_grad(): za, zb = models['A'].net(x), models['B'].net(x)
    assert abs(float(za.sum()) - want['A_sum']) < 1e-4 and abs(float(zb.sum()) - want['B_sum']) < 1e-4
    np.testing.assert_allclose(za.flatten()[:4].numpy(), want['A_first'], atol=1e-6)
    # resuming the old folder with more steps: the saved config matches today's reading of it
    run_dir = tmp_path/'old'; shutil.copytree(old, run_dir)
    (run_dir/'config.json').write_text(json.dumps({**flat, 'steps': 3}))
    s = resume(run_dir, progress=False)
    assert s['step'] == 3 and len(read_log(run_dir)) == 3
    # the grid.json of a study written before StudyGrid held a DataConfig
    grid = StudyGrid.from_json(FIXTURES/'grid-before-config-parts.json')
    assert grid.data.folder_a.endswith('SHG_512_not_adjusted') and grid.data.folder_b.endswith('comparison/truth')
    assert config_diff(grid.to_dict(), StudyGrid.from_dict(grid.to_dict()).to_dict()) == []
