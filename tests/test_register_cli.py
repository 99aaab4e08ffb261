"""`corepreg register` and `register_pair`: known transforms recovered through the command, with and without a run,
folders as a batch, the outputs (transform.json, the resampled image in the input's dtype, the overlay), the errors."""
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from skimage import data as skdata

from conftest import SHARED_DATA, VENV_BIN, run
from corepreg.cli import main
from corepreg.data import _crop_warp
from corepreg.evaluate import corner_error
from corepreg.register import Registration, register
from corepreg.register_files import register_pair
from corepreg.transforms import RigidTransform

CORE = str(VENV_BIN/'corepreg')
SMALL = ['--preset', 'quick', '--patch', '32', '--batch', '4', '--n-pairs', '2', '--image-size', '96']
UW = SHARED_DATA/'uwloci-shg-he'


def _pair(tmp_path, angle=30.0, tx=12.0, ty=-7.0, size=256, suffix='.tif', stem='cam', scale=1.0):
    "A camera crop (fixed) and the same scene moved by a known rigid (or, with `scale`, similarity) transform (moving), as 8-bit files."
    cam = skdata.camera()
    T = RigidTransform.about_centre(angle, tx, ty, (size, size), scale)
    o = (512 - size) // 2
    fixed, moving = cam[o:o + size, o:o + size], np.round(_crop_warp(cam.astype(np.float32), T, o, o, size)).clip(0, 255).astype(np.uint8)
    (tmp_path/'f').mkdir(exist_ok=True); (tmp_path/'m').mkdir(exist_ok=True)
    fp, mp = tmp_path/'f'/f'{stem}{suffix}', tmp_path/'m'/f'{stem}{suffix}'
    tifffile.imwrite(fp, fixed); tifffile.imwrite(mp, moving)
    return fp, mp, T, fixed


def _est(d):
    "The transform that a transform.json describes, about its stated centre."
    t = json.loads((Path(d)/'transform.json').read_text())
    return RigidTransform(t['angle'], t['tx'], t['ty'], t['cx'], t['cy'], t['scale']), t


def test_register_command_recovers_a_known_transform(tmp_path, capsys):
    fp, mp, T, fixed = _pair(tmp_path)
    assert main(['register', str(fp), str(mp), '--out', str(tmp_path/'out')]) == 0
    est, t = _est(tmp_path/'out')
    assert corner_error(T, est, fixed.shape) < 1.0
    np.testing.assert_allclose(np.array(t['matrix']), est.matrix(), atol=1e-4)   # the matrix and the parameters agree
    assert t['method'] == 'fftmi' and t['failed'] is False and t['seconds'] > 0 and t['run'] is None
    reg = tifffile.imread(tmp_path/'out'/'cam_registered.tif')
    assert reg.dtype == np.uint8 and reg.shape == fixed.shape                  # the input's dtype, the fixed frame
    inside = np.zeros_like(fixed, bool); inside[60:-60, 60:-60] = True          # the part that the moving image covers
    assert np.corrcoef(reg[inside].astype(float), fixed[inside].astype(float))[0, 1] > 0.97
    assert (tmp_path/'out'/'overlay.png').stat().st_size > 1000
    assert 'angle 30.0' in capsys.readouterr().out


def test_similarity_through_the_command(tmp_path, capsys):
    "--transform similarity recovers a known scale; transform.json holds it, in the matrix too, with the confidence; rigid cannot."
    fp, mp, T, fixed = _pair(tmp_path, angle=-70.0, scale=1.15)
    assert main(['register', str(fp), str(mp), '--transform', 'similarity', '--out', str(tmp_path/'sim')]) == 0
    est, t = _est(tmp_path/'sim')
    assert abs(t['scale'] / 1.15 - 1) < 0.01 and corner_error(T, est, fixed.shape) < 0.02 * 256
    np.testing.assert_allclose(np.array(t['matrix']), est.matrix(), atol=1e-4)
    assert t['transform'] == 'similarity' and t['confidence'] >= t['threshold'] and t['uncertain'] is False
    assert 'scale 1.1' in capsys.readouterr().out
    assert main(['register', str(fp), str(mp), '--out', str(tmp_path/'rigid')]) == 0
    est_r, t_r = _est(tmp_path/'rigid')
    assert t_r['scale'] == 1.0 and corner_error(T, est_r, fixed.shape) > 0.02 * 256     # a rigid model cannot follow the scale
    with pytest.raises(SystemExit): main(['register', str(fp), str(mp), '--transform', 'affine', '--out', str(tmp_path/'x')])


def test_a_batch_counts_its_uncertain_pairs_in_its_last_line(tmp_path):
    "A folder batch with one pair that belongs together and one unrelated pair: the last line counts one uncertain."
    _pair(tmp_path, angle=20.0, stem='good')
    fp, mp, _, _ = _pair(tmp_path, angle=0.0, stem='unrelated')
    tifffile.imwrite(mp, skdata.astronaut()[100:356, 100:356, 1])   # the unrelated pair of the chapter's check
    r = run([CORE, 'register', str(tmp_path/'f'), str(tmp_path/'m'), '--out', str(tmp_path/'o')])
    assert r.returncode == 0, r.stderr
    import pandas as pd
    df = pd.read_csv(tmp_path/'o'/'transforms.csv').set_index('name')
    assert not df.loc['good', 'uncertain'] and df.loc['unrelated', 'uncertain'], df[['confidence', 'uncertain']]
    last = r.stdout.strip().splitlines()[-1]
    assert '2 pairs' in last and '1 uncertain' in last, last


def test_full_circle_is_the_commands_default(tmp_path):
    fp, mp, T, fixed = _pair(tmp_path, angle=-140.0)
    assert main(['register', str(fp), str(mp), '--out', str(tmp_path/'full')]) == 0
    assert corner_error(T, _est(tmp_path/'full')[0], fixed.shape) < 1.0
    assert main(['register', str(fp), str(mp), '--angles', '25', '--out', str(tmp_path/'near')]) == 0
    assert corner_error(T, _est(tmp_path/'near')[0], fixed.shape) > 50       # ±25° cannot reach −140°
    for method in ('sift', 'ssd', 'mi'):                                       # the other back-ends, through the command
        assert main(['register', str(fp), str(mp), '--method', method, '--out', str(tmp_path/method)]) == 0
        assert corner_error(T, _est(tmp_path/method)[0], fixed.shape) < 1.0, method


def test_register_with_a_run_registers_the_comirs(tmp_path):
    "With --run, the command registers the run's CoMIRs (fixed through A, moving through B): the same as in Python."
    from corepreg.infer import Representer
    run_dir = tmp_path/'run'
    assert run([CORE, 'train', *SMALL, '--steps', '2', '--out', str(run_dir)]).returncode == 0
    fp, mp, T, fixed = _pair(tmp_path, angle=10.0, size=128)
    r = run([CORE, 'register', str(fp), str(mp), '--run', str(run_dir), '--out', str(tmp_path/'o')])
    assert r.returncode == 0, r.stderr
    est, t = _est(tmp_path/'o')
    assert t['run'] == str(run_dir) and t['fixed_modality'] == 'A'
    rep = Representer(run_dir)
    from corepreg.data import read_image, to_unit
    a, b = rep(to_unit(read_image(fp)), 'A'), rep(to_unit(read_image(mp)), 'B')
    ref = register(a, b, 'fftmi', angles='full')
    assert corner_error(ref, est, fixed.shape) < 1e-3
    swapped = register_pair(fp, mp, run=run_dir, fixed_modality='B')                 # fixed through B, moving through A
    assert isinstance(swapped, Registration)
    np.testing.assert_allclose(register(rep(to_unit(read_image(fp)), 'B'), rep(to_unit(read_image(mp)), 'A'), 'fftmi', angles='full').matrix(),
                               swapped.matrix(), atol=1e-6)


def test_folders_run_as_a_batch(tmp_path):
    for i, a in enumerate((5.0, -12.0)):
        _pair(tmp_path, angle=a, stem=f'core{i}', size=128)
    tifffile.imwrite(tmp_path/'f'/'alone.tif', np.zeros((8, 8), np.uint8) + 1)   # no partner: skipped with a warning
    r = run([CORE, 'register', str(tmp_path/'f'), str(tmp_path/'m'), '--method', 'sift', '--out', str(tmp_path/'o')])
    assert r.returncode == 0, r.stderr
    assert '1 image(s) without a partner are skipped: alone' in r.stderr
    import pandas as pd
    df = pd.read_csv(tmp_path/'o'/'transforms.csv')
    assert list(df['name']) == ['core0', 'core1'] and not df['failed'].any()
    np.testing.assert_allclose(df['angle'], [5.0, -12.0], atol=0.2)
    for n in ('core0', 'core1'): assert (tmp_path/'o'/n/'transform.json').exists() and (tmp_path/'o'/n/f'{n}_registered.tif').exists()


@pytest.mark.parametrize('case', ['unreadable', 'missing', 'shapes', 'modality', 'no_checkpoint', 'angles', 'mixed'])
def test_register_errors_name_the_culprit(tmp_path, case):
    fp, mp, T, fixed = _pair(tmp_path, size=128)
    args, culprit, code = [str(fp), str(mp)], None, 1
    if case == 'unreadable': mp.write_bytes(b'not a tiff at all'); culprit = f'{mp}: cannot be read as an image'
    if case == 'missing': args[1] = str(tmp_path/'nope.tif'); culprit = f'{tmp_path/"nope.tif"}: no such file'
    if case == 'shapes':
        tifffile.imwrite(mp, np.zeros((100, 128), np.uint8)); culprit = 'fixed cam is 128 × 128 px but moving cam is 128 × 100 px'
    if case == 'modality': args += ['--fixed-modality', 'C']; culprit, code = "invalid choice: 'C'", 2
    if case == 'no_checkpoint':
        (tmp_path/'run').mkdir(); args += ['--run', str(tmp_path/'run')]; culprit = f'run folder {tmp_path/"run"}: no checkpoint.pt'
    if case == 'angles': args += ['--angles', 'sideways']; culprit = "angles: 'sideways' is neither 'full' nor a number"
    if case == 'mixed': args[1] = str(tmp_path/'m'); culprit = 'give two image files or two folders'
    r = run([CORE, 'register', *args, '--out', str(tmp_path/'out')])
    assert r.returncode == code and culprit in r.stderr, (r.returncode, r.stderr)
    assert 'Traceback' not in r.stderr
    assert not (tmp_path/'out').exists()                                         # nothing half-made


def test_register_pair_python_errors(tmp_path):
    fp, mp, T, fixed = _pair(tmp_path, size=128)
    with pytest.raises(FileNotFoundError, match='nope.tif: no such file'): register_pair(fp, tmp_path/'nope.tif')
    with pytest.raises(ValueError, match="method: 'elastix'"): register_pair(fp, mp, method='elastix')
    est = register_pair(fixed, tifffile.imread(mp))                            # arrays work too, and nothing is written
    assert corner_error(T, est, fixed.shape) < 1.0 and not (tmp_path/'registered').exists()


@pytest.mark.skipif(not UW.exists(), reason='shared SHG / bright-field cores not present')
def test_register_a_real_core(tmp_path):
    "SHG (fixed) against the raw RGB bright-field HE_512 of core 1B_B7 (scale ≈ 1): raw, and through a run."
    shg, he, truth = (UW/d/'1B_B7.tif' for d in ('Input/SHG_512_not_adjusted', 'Input/HE_512', 'comparison/truth'))
    ref = register_pair(truth, he, method='sift')                              # monomodal reference (bright-field to bright-field)
    assert corner_error(ref, register_pair(truth, he, method='ssd', angles=None), (512, 512)) < 1.0   # checked by a second method
    r = run([CORE, 'register', str(shg), str(he), '--out', str(tmp_path/'raw')])
    assert r.returncode == 0, r.stderr
    assert corner_error(ref, _est(tmp_path/'raw')[0], (512, 512)) <= 0.02 * 512
    reg = tifffile.imread(tmp_path/'raw'/'1B_B7_registered.tif')
    assert reg.shape == (512, 512, 3) and reg.dtype == np.uint8                # RGB in, RGB out
    run_dir = tmp_path/'run'
    assert run([CORE, 'train', *SMALL, '--steps', '2', '--out', str(run_dir)]).returncode == 0
    r = run([CORE, 'register', str(shg), str(he), '--run', str(run_dir), '--out', str(tmp_path/'comir')])
    assert r.returncode == 0, r.stderr
    assert _est(tmp_path/'comir')[1]['run'] == str(run_dir)


def test_large_translation_with_partial_overlap(tmp_path):
    "A global search is for large moves: 80 and −60 px on a 256-px pair (half of the fixed image overlaps) are recovered."
    fp, mp, T, fixed = _pair(tmp_path, angle=-7.0, tx=80.0, ty=-60.0)
    assert main(['register', str(fp), str(mp), '--out', str(tmp_path/'o')]) == 0
    assert corner_error(T, _est(tmp_path/'o')[0], fixed.shape) < 1.0
