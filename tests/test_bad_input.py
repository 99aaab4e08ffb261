"""The bad-input suite: one table of mistakes a user plausibly makes, across `study`, `train`, `infer`, `register` and the
main Python entry points. Each case asserts four things: the exit code (2 usage, 1 failure) or the exception type, no
traceback, the culprit named in the message, and nothing left behind or damaged: no output folder where there was none,
and every file of an existing one byte for byte as it was. A batch that met one bad item (`BATCH`) goes on, so its output
folder may gain its bookkeeping, and its `failures.csv` must name the culprit."""
import contextlib, io, json, os, sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from corepreg.cli import main

SMALL = ['--preset', 'quick', '--patch', '32', '--batch', '4', '--n-pairs', '2', '--image-size', '96']


def _folder(root:Path, name:str, images:dict) -> Path:
    d = root/name; d.mkdir(parents=True, exist_ok=True)
    for fn, img in images.items():
        (d/fn).write_bytes(img) if isinstance(img, bytes) else tifffile.imwrite(d/fn, img)
    return d


def _img(seed=0, shape=(64, 64), dtype=np.uint8):
    a = np.random.default_rng(seed).random(shape)
    return (a * 255).astype(dtype) if dtype == np.uint8 else a.astype(dtype)


def _pair_folders(tmp, a_images=None, b_images=None):
    a = _folder(tmp, 'A', a_images if a_images is not None else {'x.tif': _img(0), 'y.tif': _img(1)})
    b = _folder(tmp, 'B', b_images if b_images is not None else {'x.tif': _img(2), 'y.tif': _img(3)})
    return ['--a', str(a), '--b', str(b)]


def _run_folder(tmp, name='run'):
    "A finished 2-step quick training run (made once per test that needs it)."
    code, _ = call(['train', *SMALL, '--steps', '2', '--out', str(tmp/name)])
    assert code == 0
    return tmp/name


def _locked(tmp, name='out'):
    "An output folder whose lock is held by a live process that is not us (pid 1)."
    d = tmp/name; d.mkdir(exist_ok=True)
    (d/'.corepreg.lock').write_text(json.dumps({'pid': 1, 'host': os.uname().nodename, 'command': 'corepreg study', 'since': 'now'}))
    return d


def _grid_json(tmp, **kw):
    "A study folder that holds the grid `kw` (no cells run yet)."
    from corepreg.study import StudyGrid
    (tmp/'out').mkdir(); (tmp/'out'/'grid.json').write_text(StudyGrid(**kw).to_json())
    return tmp/'out'


def _registered(tmp, *argv):
    "`corepreg register ...` run into tmp/out first (a registration that a later case must not damage)."
    code, err = call(['register', *argv, '--out', str(tmp/'out')])
    assert code in (0, 1), err
    return tmp/'out'


def _noise_folders(tmp, names=('x',), junk=()):
    f = _folder(tmp, 'f', {f'{n}.tif': _img(i) for i, n in enumerate(names)})
    m = _folder(tmp, 'm', {f'{n}.tif': (b'junk' if n in junk else _img(i)) for i, n in enumerate(names)})
    return f, m


# each case: (id, setup(tmp) -> argv, expected exit code, text that names the culprit)
CASES = [
    # ---- study: values the parser checks (usage errors, exit 2)
    ('study-folds-abc', lambda t: ['study', '--folds', 'abc'], 2, "--folds: 'abc' is not a fold number (expected e.g. 1,2,3)"),
    ('study-folds-zero', lambda t: ['study', '--folds', '0'], 2, "'0' is not a fold number"),
    ('study-folds-empty', lambda t: ['study', '--folds', ','], 2, "',' names no fold"),
    ('study-n-test-negative', lambda t: ['study', '--n-test', '-1'], 2, '--n-test: must be ≥ 1, got -1'),
    ('study-n-test-zero', lambda t: ['study', '--n-test', '0'], 2, '--n-test: must be ≥ 1, got 0'),
    ('study-n-test-word', lambda t: ['study', '--n-test', 'ten'], 2, "--n-test: 'ten' is not a whole number"),
    ('study-seeds-zero', lambda t: ['study', '--seeds', '0'], 2, '--seeds: must be ≥ 1, got 0'),
    ('study-seeds-word', lambda t: ['study', '--seeds', 'two'], 2, "--seeds: 'two' is not a whole number"),
    ('study-steps-negative', lambda t: ['study', '--steps', '-5'], 2, '--steps: must be ≥ 1, got -5'),
    ('study-steps-fraction', lambda t: ['study', '--steps', '1.5'], 2, "--steps: '1.5' is not a whole number"),
    ('study-shard-reversed', lambda t: ['study', '--shard', '3/2'], 2, 'i must be between 1 and n'),
    ('study-shard-word', lambda t: ['study', '--shard', 'half'], 2, "must look like i/n (e.g. 2/4), got 'half'"),
    ('study-shard-zero', lambda t: ['study', '--shard', '0/2'], 2, 'i must be between 1 and n'),
    ('study-split-seed-negative', lambda t: ['study', '--split-seed', '-1'], 2, '--split-seed: must be ≥ 0, got -1'),
    ('study-preset', lambda t: ['study', '--preset', 'huge'], 2, "--preset: invalid choice: 'huge'"),
    ('study-unknown-option', lambda t: ['study', '--flavour', 'red'], 2, 'unrecognized arguments: --flavour red'),
    # ---- study: values checked against the grid (usage errors, exit 2)
    ('study-dataset', lambda t: ['study', '--data', 'mnist'], 2, "unknown dataset(s) ['mnist']"),
    ('study-method', lambda t: ['study', '--methods', 'elastix'], 2, "unknown methods ['elastix']"),
    ('study-critic', lambda t: ['study', '--critics', 'dot'], 2, "unknown critics ['dot']"),
    ('study-supervision', lambda t: ['study', '--supervision', 'magic'], 2, "unknown supervision ['magic']"),
    # ---- study: files (failures, exit 1)
    ('study-folder-no-a', lambda t: ['study', '--data', 'folder', '--steps', '1'], 2, '--data folder needs --a DIR and --b DIR'),
    ('study-folder-missing', lambda t: ['study', '--data', 'folder', '--steps', '1', '--a', str(t/'nope'), '--b', str(t/'nope')], 1, f"nope: no such folder"),
    ('study-out-is-file', lambda t: (t/'out').write_text('keep me') and ['study', '--steps', '1', '--n-test', '1', '--data', 'synthetic'], 1, 'File exists ('),
    # ---- train
    ('train-critic', lambda t: ['train', '--critic', 'dot'], 2, "--critic: invalid choice: 'dot'"),
    ('train-steps-word', lambda t: ['train', '--steps', 'many'], 2, "--steps: invalid int value: 'many'"),
    ('train-no-out', lambda t: ['train', *SMALL], 1, 'give --out DIR'),
    ('train-resume-nothing', lambda t: ['train', '--resume', str(t/'nothing')], 1, 'not a training run (no config.json)'),
    ('train-preset', lambda t: ['train', '--preset', 'huge'], 2, "--preset: invalid choice: 'huge'"),
    ('train-folder-missing-a', lambda t: ['train', *SMALL, '--data', 'folder', '--a', str(t/'nope'), '--b', str(t/'nope')], 1, 'nope: no such folder'),
    ('train-folder-empty', lambda t: ['train', *SMALL, '--data', 'folder', *_pair_folders(t, {}, {})], 1, 'A: holds no image files'),
    ('train-folder-unpaired', lambda t: ['train', *SMALL, '--data', 'folder', *_pair_folders(t, {'x.tif': _img(0)}, {'z.tif': _img(1)})], 1, "only in A: ['x']; only in B: ['z']"),
    ('train-folder-stack', lambda t: ['train', *SMALL, '--data', 'folder', *_pair_folders(t, {'x.tif': _img(0, (6, 64, 64)), 'y.tif': _img(1)})], 1, 'x.tif: a stack of 6 planes (6, 64, 64)'),
    ('train-folder-constant', lambda t: ['train', *SMALL, '--data', 'folder', *_pair_folders(t, {'x.tif': np.zeros((64, 64), np.uint8), 'y.tif': _img(1)})], 1, 'constant'),
    ('train-folder-nan', lambda t: ['train', *SMALL, '--data', 'folder', *_pair_folders(t, {'x.tif': np.full((64, 64), np.nan, np.float32), 'y.tif': _img(1)})], 1, 'x.tif: holds NaN or infinite values'),
    ('train-folder-not-images', lambda t: ['train', *SMALL, '--data', 'folder', *_pair_folders(t, {'x.tif': b'plain text', 'y.tif': _img(1)})], 1, 'x.tif: cannot be read as an image'),
    ('train-folder-small', lambda t: ['train', *SMALL, '--patch', '128', '--data', 'folder', *_pair_folders(t)], 1, 'smaller than the patch size 128'),
    ('train-lr-word', lambda t: ['train', '--lr', 'fast'], 2, "--lr: invalid float value: 'fast'"),
    # ---- infer
    ('infer-missing-image', lambda t: ['infer', '--run', str(_run_folder(t)), '--modality', 'A', str(t/'nope.png')], 1, 'nope.png: no such file'),
    ('infer-no-checkpoint', lambda t: ['infer', '--run', str(t), '--modality', 'A', str(t/'nope.png')], 1, 'no such checkpoint'),
    ('infer-modality', lambda t: ['infer', '--run', str(t), '--modality', 'C', 'x.png'], 2, "--modality: invalid choice: 'C'"),
    ('infer-unreadable', lambda t: (t/'bad.tif').write_bytes(b'junk') and ['infer', '--run', str(_run_folder(t)), '--modality', 'A', str(t/'bad.tif')], 1, 'bad.tif: cannot be read as an image'),
    ('infer-out-is-file', lambda t: (t/'out').write_text('keep me') and ['infer', '--run', str(t), '--modality', 'A', 'x.png'], 1, 'out: is a file'),
    ('infer-no-images', lambda t: ['infer', '--run', str(t), '--modality', 'A'], 2, 'the following arguments are required: images'),
    # ---- register
    ('register-missing', lambda t: ['register', str(_folder(t, 'f', {'a.tif': _img(0)})/'a.tif'), str(t/'nope.tif')], 1, 'nope.tif: no such file'),
    ('register-unreadable', lambda t: ['register', str(_folder(t, 'f', {'a.tif': _img(0)})/'a.tif'), str(_folder(t, 'm', {'a.tif': b'junk'})/'a.tif')], 1, 'a.tif: cannot be read as an image'),
    ('register-shapes', lambda t: ['register', str(_folder(t, 'f', {'a.tif': _img(0)})/'a.tif'), str(_folder(t, 'm', {'a.tif': _img(0, (50, 64))})/'a.tif')], 1, 'but moving a is 64 × 50 px'),
    ('register-modality', lambda t: ['register', 'a', 'b', '--fixed-modality', 'C'], 2, "--fixed-modality: invalid choice: 'C'"),
    ('register-method', lambda t: ['register', 'a', 'b', '--method', 'elastix'], 2, "--method: invalid choice: 'elastix'"),
    ('register-angles-word', lambda t: ['register', 'a', 'b', '--angles', 'sideways'], 1, "angles: 'sideways' is neither 'full' nor a number"),
    ('register-angles-range', lambda t: ['register', 'a', 'b', '--angles', '400'], 1, 'angles: 400.0 is not in (0, 180] degrees'),
    ('register-no-checkpoint', lambda t: ['register', 'a', 'b', '--run', str(t)], 1, 'no checkpoint.pt in it'),
    ('register-mixed', lambda t: ['register', str(_folder(t, 'f', {'a.tif': _img(0)})), str(_folder(t, 'f', {})/'a.tif')], 1, 'give two image files or two folders'),
    ('register-no-common-names', lambda t: ['register', str(_folder(t, 'f', {'a.tif': _img(0)})), str(_folder(t, 'm', {'b.tif': _img(0)}))], 1, 'share no image name'),
    ('register-empty-folders', lambda t: ['register', str(_folder(t, 'f', {})), str(_folder(t, 'm', {}))], 1, '(0 images)'),
    ('register-constant', lambda t: ['register', str(_folder(t, 'f', {'a.tif': np.zeros((64, 64), np.uint8)})/'a.tif'), str(_folder(t, 'm', {'a.tif': _img(0)})/'a.tif')], 1, 'a: is constant'),
    ('register-stack', lambda t: ['register', str(_folder(t, 'f', {'a.tif': _img(0, (5, 64, 64))})/'a.tif'), str(_folder(t, 'm', {'a.tif': _img(0)})/'a.tif')], 1, 'a.tif: a stack of 5 planes (5, 64, 64)'),
    # ---- bounds before work: every numeric option's range, with the reason (issue: `train --patch 6` trained)
    ('train-patch-6', lambda t: ['train', *SMALL, '--patch', '6'], 1, 'DataConfig.patch: 6 px does not fit this network, which halves a patch 3 times'),
    ('train-patch-100', lambda t: ['train', *SMALL, '--patch', '100'], 1, 'must be a multiple of 8 and at least 16 px'),
    ('train-lr-negative', lambda t: ['train', *SMALL, '--lr', '-1'], 1, 'OptimConfig.lr must be lr > 0, got -1.0'),
    ('train-lr-zero', lambda t: ['train', *SMALL, '--lr', '0'], 1, 'OptimConfig.lr must be lr > 0, got 0.0'),
    ('train-momentum-one', lambda t: ['train', *SMALL, '--momentum', '1'], 1, 'OptimConfig.momentum must be 0 <= momentum < 1'),
    ('train-weight-decay-negative', lambda t: ['train', *SMALL, '--weight-decay', '-0.1'], 1, 'OptimConfig.weight_decay must be weight_decay >= 0'),
    ('train-clip-zero', lambda t: ['train', *SMALL, '--clip', '0'], 1, 'OptimConfig.clip must be clip > 0'),
    ('train-warmup-negative', lambda t: ['train', *SMALL, '--warmup', '-5'], 1, 'OptimConfig.warmup must be warmup >= 0'),
    ('train-tau-zero', lambda t: ['train', *SMALL, '--tau', '0'], 1, 'LossConfig.tau must be tau > 0'),
    ('train-bottleneck-weight-negative', lambda t: ['train', *SMALL, '--bottleneck-weight', '-1'], 1, 'LossConfig.bottleneck_weight must be bottleneck_weight >= 0'),
    ('train-proj-dim-zero', lambda t: ['train', *SMALL, '--proj-dim', '0'], 1, 'LossConfig.proj_dim must be proj_dim >= 1'),
    ('train-decay-negative', lambda t: ['train', *SMALL, '--decay-l2', '-1'], 1, 'LossConfig.decay_l2 must be decay_l2 >= 0'),
    ('train-seed-negative', lambda t: ['train', *SMALL, '--seed', '-1'], 1, 'TrainConfig.seed must be seed >= 0'),
    ('train-val-every-negative', lambda t: ['train', *SMALL, '--val-every', '-1'], 1, 'TrainConfig.val_every must be val_every >= 0'),
    ('train-val-patches-one', lambda t: ['train', *SMALL, '--val-patches', '1'], 1, 'TrainConfig.val_patches must be val_patches >= 2'),
    ('train-batch-one', lambda t: ['train', *SMALL, '--batch', '1'], 1, 'OptimConfig.batch must be at least 2'),
    ('train-steps-zero', lambda t: ['train', *SMALL, '--steps', '0'], 1, 'OptimConfig.steps must be at least 1'),
    ('train-checkpoint-every-zero', lambda t: ['train', *SMALL, '--checkpoint-every', '0'], 1, 'TrainConfig.checkpoint_every must be at least 1'),
    ('train-fold-zero', lambda t: ['train', *SMALL, '--fold', '0'], 1, 'DataConfig.fold must be fold >= 1'),
    ('train-intensity-negative', lambda t: ['train', *SMALL, '--intensity-aug', '-1'], 1, 'DataConfig.intensity_aug must be intensity_aug >= 0'),
    ('train-memory', lambda t: ['train', *SMALL, '--batch', '100000', '--patch', '1024'], 1, 'training with batches of 100000 patches of 1024 px would need about'),
    ('train-val-images-synthetic', lambda t: ['train', *SMALL, '--val-images', '1'], 1, 'validation images come from the training half of folder or isl data'),
    ('train-val-images-all', lambda t: ['train', *SMALL, '--data', 'folder', *_pair_folders(t), '--val-images', '1'], 1, 'would leave none of the training half'),
    ('train-colour-b-synthetic', lambda t: ['train', *SMALL, '--colour-b'], 1, "a 3-channel modality B comes from folders or the ISL field, not 'synthetic'"),
    ('study-n-test-huge', lambda t: ['study', '--data', 'synthetic', '--n-test', '100000'], 1, '(--n-test 100000, --min-pairs 0) would need about'),
    ('study-min-pairs-huge', lambda t: ['study', '--data', 'synthetic', '--min-pairs', '100000000'], 1, '--min-pairs 100000000) would need about'),
    ('study-min-pairs-negative', lambda t: ['study', '--min-pairs', '-1'], 2, '--min-pairs: must be ≥ 0, got -1'),
    ('study-n-test-folder', lambda t: ['study', '--data', 'folder', *_pair_folders(t), '--n-test', '5'], 2, '--n-test 5: only the synthetic data has a number of evaluation images to choose'),
    ('study-workers-zero', lambda t: ['study', '--workers', '0'], 2, '--workers: must be ≥ 1, got 0'),
    ('study-workers-huge', lambda t: ['study', '--workers', '100000'], 2, 'more than 8 per core only add start-up time and memory'),
    ('study-folder-fold-3', lambda t: ['study', '--data', 'folder', *_pair_folders(t), '--folds', '3'], 2, 'folder data has folds 1 and 2 (the two halves), got 3'),
    ('infer-tile-3', lambda t: ['infer', '--run', str(t), '--modality', 'A', '--tile', '3', 'x.png'], 2, '--tile: must be ≥ 128 px, got 3: each tile carries 64 px of context'),
    ('infer-tile-word', lambda t: ['infer', '--run', str(t), '--modality', 'A', '--tile', 'big', 'x.png'], 2, "--tile: 'big' is not a whole number of pixels"),
    ('infer-rotations-3', lambda t: ['infer', '--run', str(t), '--modality', 'A', '--rotations', '3', 'x.png'], 2, "--rotations: invalid choice: 3"),
    ('register-angles-zero', lambda t: ['register', 'a', 'b', '--angles', '0'], 1, 'angles: 0.0 is not in (0, 180] degrees'),
    ('register-angles-negative', lambda t: ['register', 'a', 'b', '--angles', '-5'], 1, 'angles: -5.0 is not in (0, 180] degrees'),
    # ---- no silent overwrite: outputs never land on inputs, nor on another invocation's outputs
    ('train-out-under-input', lambda t: ['train', *SMALL, '--data', 'folder', *_pair_folders(t), '--out', str(t/'A'/'out')], 1, 'lies under the input'),
    ('train-out-is-input', lambda t: ['train', *SMALL, '--data', 'folder', *_pair_folders(t), '--out', str(t/'A')], 1, 'is the input'),
    ('train-other-config', lambda t: _run_folder(t, 'out') and ['train', *SMALL, '--steps', '2', '--lr', '0.5'], 1, 'belongs to another config (optim.lr: 0.01 there, 0.5 now)'),
    ('study-out-under-input', lambda t: ['study', '--data', 'folder', *_pair_folders(t), '--out', str(t/'A'/'out')], 2, 'lies under the input'),
    ('study-out-holds-input', lambda t: ['study', '--data', 'folder', '--a', str(_folder(t/'out', 'A', {'x.tif': _img(0)})), '--b', str(_folder(t, 'B', {'x.tif': _img(1)}))], 2, 'holds the input'),
    ('study-other-grid', lambda t: _grid_json(t, datasets=('synthetic',), critics=('l1',)) and ['study', '--data', 'synthetic', '--critics', 'mse'], 2, 'holds the results of a different grid'),
    ('study-fewer-seeds', lambda t: _grid_json(t, datasets=('synthetic',), seeds=3) and ['study', '--data', 'synthetic', '--seeds', '1'], 2, 'holds 3 seeds, and --seeds 1 would leave some'),
    ('infer-out-holds-input', lambda t: ['infer', '--run', str(_run_folder(t)), '--modality', 'A', str(_folder(t, 'out', {'x.tif': _img(0)})/'x.tif')], 1, 'holds the input'),
    ('infer-collision', lambda t: ['infer', '--run', str(_run_folder(t)), '--modality', 'A', str(_folder(t, 'one', {'x.tif': _img(0)})), str(_folder(t, 'two', {'x.tif': _img(1)}))], 1, 'would both write x_comir.png'),
    ('infer-same-stem', lambda t: ['infer', '--run', str(_run_folder(t)), '--modality', 'A', str(_folder(t, 'one', {'x.tif': _img(0), 'x.png': _img(1, dtype=np.uint8)}))], 1, "two images named 'x' in one folder"),
    ('infer-other-run', lambda t: (_folder(t, 'out', {}) / 'infer.json').write_text(json.dumps({'run': '/elsewhere', 'modality': 'A'})) and ['infer', '--run', str(_run_folder(t)), '--modality', 'A', str(_folder(t, 'i', {'x.tif': _img(0)})/'x.tif')], 1, 'holds the CoMIRs of another run or setting (--overwrite replaces them)'),
    ('infer-empty-folder', lambda t: ['infer', '--run', str(_run_folder(t)), '--modality', 'A', str(_folder(t, 'empty', {}))], 1, 'no image files'),
    ('register-out-holds-input', lambda t: ['register', str(_folder(t, 'out', {'a.tif': _img(0)})/'a.tif'), str(_folder(t, 'm', {'a.tif': _img(0)})/'a.tif')], 1, 'holds the input'),
    ('register-out-under-input', lambda t: ['register', *map(str, _noise_folders(t)), '--out', str(t/'f'/'out')], 1, 'lies under the input'),
    ('register-other-pair', lambda t: _registered(t, *map(str, (p/'x.tif' for p in _noise_folders(t, ('x', 'y'))))) and ['register', str(t/'f'/'y.tif'), str(t/'m'/'y.tif')], 1, 'holds another registration'),
    ('register-pair-over-batch', lambda t: _registered(t, *map(str, _noise_folders(t, ('x', 'y')))) and ['register', str(t/'f'/'y.tif'), str(t/'m'/'y.tif')], 1, 'holds a batch of registrations'),
    ('register-other-batch', lambda t: _registered(t, *map(str, _noise_folders(t))) and ['register', str(t/'f'), str(t/'m'), '--method', 'ssd'], 1, "holds the registrations of another batch (--overwrite replaces them) (method: 'fftmi' there, 'ssd' now)"),
    ('register-out-is-file', lambda t: (t/'out').write_text('keep me') and ['register', *map(str, _noise_folders(t))], 1, 'out: is a file, not a folder'),
    ('register-same-stem', lambda t: ['register', str(_folder(t, 'f', {'x.tif': _img(0), 'x.png': _img(1)})), str(_folder(t, 'm', {'x.tif': _img(0)}))], 1, "two images named 'x' in one folder"),
    ('train-same-stem', lambda t: ['train', *SMALL, '--data', 'folder', *_pair_folders(t, {'x.tif': _img(0), 'x.png': _img(1), 'y.tif': _img(2)})], 1, "two images named 'x' in one folder"),
    # ---- one writer per output folder
    ('study-locked', lambda t: _locked(t) and ['study', '--data', 'synthetic'], 1, 'is in use by process 1'),
    ('train-locked', lambda t: _locked(t) and ['train', *SMALL], 1, 'is in use by process 1'),
    ('infer-locked', lambda t: _locked(t) and ['infer', '--run', str(_run_folder(t)), '--modality', 'A', str(_folder(t, 'i', {'x.tif': _img(0)})/'x.tif')], 1, 'is in use by process 1'),
    ('register-locked', lambda t: _locked(t) and ['register', *map(str, (p/'x.tif' for p in _noise_folders(t)))], 1, 'is in use by process 1'),
    # ---- a run's config is its identity
    ('train-resume-other-options', lambda t: ['train', '--resume', str(_run_folder(t, 'out')), '--lr', '0.5'], 1, 'differ from the run\'s saved config (optim.lr: 0.01 there, 0.5 now)'),
    ('train-resume-preset', lambda t: ['train', '--resume', str(_run_folder(t, 'out')), '--preset', 'standard'], 1, '--preset standard: --resume'),
    ('train-resume-elsewhere', lambda t: ['train', '--resume', str(_run_folder(t, 'out')), '--out', str(t/'other')], 1, 'a run resumes in its own folder'),
    # ---- batches go on: one bad item is recorded in failures.csv (BATCH below)
    ('infer-batch-unreadable', lambda t: ['infer', '--run', str(_run_folder(t)), '--modality', 'A', str(_folder(t, 'i', {'bad.tif': b'junk'}))], 1, 'bad.tif: cannot be read as an image'),
    ('register-batch-unreadable', lambda t: ['register', *map(str, _noise_folders(t, ('x',), junk=('x',)))], 1, 'x.tif: cannot be read as an image'),
    ('register-batch-constant', lambda t: ['register', str(_folder(t, 'f', {'x.tif': np.zeros((64, 64), np.uint8)})), str(_folder(t, 'm', {'x.tif': _img(0)}))], 1, 'x: is constant'),
    ('no-command', lambda t: [], 2, 'the following arguments are required: command'),
    ('unknown-command', lambda t: ['fly'], 2, "invalid choice: 'fly'"),
]


def call(argv):
    "(exit code, stderr) of `corepreg argv` in this process, as the shell would see them."
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try: code = main(argv)
        except SystemExit as e:
            if isinstance(e.code, str): print(e.code, file=sys.stderr); code = 1
            else: code = e.code or 0
    return code, err.getvalue()


BATCH = {'infer-unreadable', 'infer-batch-unreadable', 'register-batch-unreadable', 'register-batch-constant'}   # they go on
BOOKKEEPING = {'failures.csv', 'command.json', 'infer.json', 'job.json'}


def snapshot(p:Path) -> dict|None:
    "Every file under `p` (or `p` itself), with its bytes; None if there is nothing."
    if p.is_file(): return {'': p.read_bytes()}
    return {str(f.relative_to(p)): f.read_bytes() for f in sorted(p.rglob('*')) if f.is_file()} if p.is_dir() else None


def test_there_are_a_hundred_cases():
    assert len(CASES) + len(_api_cases()) >= 100


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, tmp_path, monkeypatch):
    name, setup, expected, culprit = case
    monkeypatch.chdir(tmp_path)
    argv = setup(tmp_path)
    if argv and argv[0] in ('study', 'train', 'infer', 'register') and '--out' not in argv and '--resume' not in argv and name != 'train-no-out':
        argv = argv + ['--out', str(tmp_path/'out')]
    before = snapshot(tmp_path/'out')
    code, err = call(argv)
    assert code == expected, (code, err)
    assert 'Traceback' not in err
    assert culprit in err, err
    after = snapshot(tmp_path/'out')
    if name in BATCH:                      # the batch recorded its bad item, wrote nothing else, and left the rest as it was
        assert set(after) - set(before or {}) <= BOOKKEEPING, sorted(after)
        assert culprit in (tmp_path/'out'/'failures.csv').read_text()
    else: assert after == before, sorted(after or {})   # nothing new, nothing changed (an existing file byte for byte)


# ---- the main Python entry points raise ValueError / FileNotFoundError with the same words
def _api_cases():
    from corepreg.data import folder_pairs, read_image
    from corepreg.evaluate import success_rate
    from corepreg.register import register
    from corepreg.register_files import register_pair
    from corepreg.train import TrainConfig, load_checkpoint
    noise = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    return [
        ('register-shapes', lambda t: register(noise, noise[:50]), ValueError, 'fixed (64, 64) and moving (50, 64)'),
        ('register-tiny', lambda t: register(noise[:2, :2], noise[:2, :2]), ValueError, 'at least 8 × 8 px'),
        ('register-method', lambda t: register(noise, noise, 'elastix'), ValueError, "unknown registration method 'elastix'"),
        ('register-3d', lambda t: register(noise[None], noise[None]), ValueError, 'needs 2-D images'),
        ('register-pair-missing', lambda t: register_pair(t/'a.tif', t/'b.tif'), FileNotFoundError, 'a.tif: no such file'),
        ('read-image-missing', lambda t: read_image(t/'x.png'), FileNotFoundError, 'x.png: no such file'),
        ('folder-pairs-missing', lambda t: folder_pairs(t/'A', t/'B'), FileNotFoundError, 'A: no such folder'),
        ('config-critic', lambda t: TrainConfig().replace(critic='dot'), ValueError, "'dot' is not one of"),
        ('checkpoint-garbage', lambda t: (t/'c.pt').write_bytes(b'junk') and load_checkpoint(t/'c.pt'), RuntimeError, 'c.pt: cannot be read as a checkpoint'),
        ('success-rate-empty', lambda t: success_rate([], 300), ValueError, 'success_rate of no registrations'),
    ]


@pytest.mark.parametrize('i', range(10))
def test_bad_python_input(i, tmp_path):
    name, fn, exc, culprit = _api_cases()[i]
    with pytest.raises(exc) as e: fn(tmp_path)
    assert culprit in str(e.value), (name, str(e.value))
