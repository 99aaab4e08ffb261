"""The bad-input suite: one table of mistakes a user plausibly makes, across `study`, `train`, `infer`, `register` and the
main Python entry points. Each case asserts four things: the exit code (2 usage, 1 failure) or the exception type, no
traceback, the culprit named in the message, and nothing left behind (no output folder, an existing file unchanged)."""
import contextlib, io, json, sys
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


def _run_folder(tmp):
    "A finished 2-step quick training run (made once per test that needs it)."
    code, _ = call(['train', *SMALL, '--steps', '2', '--out', str(tmp/'run')])
    assert code == 0
    return tmp/'run'


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


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, tmp_path, monkeypatch):
    name, setup, expected, culprit = case
    monkeypatch.chdir(tmp_path)
    argv = setup(tmp_path)
    if argv and argv[0] in ('study', 'train', 'infer', 'register') and '--out' not in argv and name != 'train-no-out':
        argv = argv + ['--out', str(tmp_path/'out')]
    before = (tmp_path/'out').read_bytes() if (tmp_path/'out').is_file() else None
    code, err = call(argv)
    assert code == expected, (code, err)
    assert 'Traceback' not in err
    assert culprit in err, err
    if before is not None: assert (tmp_path/'out').read_bytes() == before   # an existing file is left as it was
    else: assert not (tmp_path/'out').exists(), sorted(p.name for p in (tmp_path/'out').rglob('*'))


# ---- the main Python entry points raise ValueError / FileNotFoundError with the same words
def _api_cases():
    from corepreg.data import folder_pairs, read_image
    from corepreg.evaluate import success_rate
    from corepreg.register import register, register_pair
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
