"Data loaders against small local folders that mimic the published layouts (no network), and real local pairs."
import hashlib, json, zipfile
import numpy as np, pytest, tifffile
from skimage import transform as skt
from conftest import SHARED_DATA
from corepreg.data import (DataError, bundle_records, cytological_pairs, histological_pairs, make_eval_set,
                           synthetic_pair, uwloci_pairs, zenodo_fetch, Pair)
from corepreg.transforms import warp


def _record(tmp_path, record, files, corrupt=None):
    "A local folder that mimics the Zenodo API: records/<id>.json with file links and MD5 checksums."
    api = tmp_path/'api'; (api/'records').mkdir(parents=True, exist_ok=True)
    store = tmp_path/'store'; store.mkdir(exist_ok=True)
    entries = []
    for key, data in files.items():
        (store/key).write_bytes(data)
        md5 = hashlib.md5(data if key != corrupt else b'something else').hexdigest()
        entries.append({'key': key, 'size': len(data), 'checksum': f'md5:{md5}', 'links': {'self': f'file://{store/key}'}})
    (api/'records'/f'{record}.json').write_text(json.dumps({'id': record, 'files': entries}))
    return str(api)


def _zip(files):
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        for name, data in files.items(): z.writestr(name, data)
    return buf.getvalue()


def _tif(img):
    import io
    buf = io.BytesIO(); tifffile.imwrite(buf, img); return buf.getvalue()


def test_zenodo_fetch_verifies_and_unpacks(tmp_path):
    rng = np.random.default_rng(0)
    img = lambda: (rng.random((40, 40)) * 255).astype(np.uint8)
    files = {f'HighRes_Splits/WSI/test/core{i}_{m}.tif': _tif(img()) for i in range(2) for m in ('SHG', 'BF')}
    api = _record(tmp_path, 4550300, {'HighRes_Splits.zip': _zip(files)})
    dest = zenodo_fetch(4550300, cache=tmp_path/'cache', api=api, progress=False)
    pairs = histological_pairs(dest, split='test')
    assert [p.name for p in pairs] == ['core0', 'core1']
    assert pairs[0].a.dtype == np.float32 and pairs[0].a.shape == (40, 40)
    # log(1+x) on SHG: A is not a linear rescaling of the file's values
    raw = tifffile.imread(dest/'HighRes_Splits/WSI/test/core0_SHG.tif').astype(float)
    expected = np.log1p(raw); expected = (expected - expected.min()) / np.ptp(expected)
    np.testing.assert_allclose(pairs[0].a, expected, atol=1e-6)
    # a second fetch uses the cache (the source may vanish)
    for p in (tmp_path/'store').iterdir(): p.unlink()
    assert zenodo_fetch(4550300, cache=tmp_path/'cache', api=api, progress=False) == dest
    assert zenodo_fetch('histological', cache=tmp_path/'cache', api=api, progress=False) == dest   # by its name in RECORDS
    with pytest.raises(DataError, match="unknown dataset 'histo'"):
        zenodo_fetch('histo', cache=tmp_path/'cache', api=api, progress=False)


def test_zenodo_bad_checksum_leaves_no_file(tmp_path):
    api = _record(tmp_path, 123, {'data.bin': b'payload'}, corrupt='data.bin')
    with pytest.raises(DataError, match=r'record 123, file data.bin'):
        zenodo_fetch(123, cache=tmp_path/'cache', api=api, progress=False)
    assert not (tmp_path/'cache'/'zenodo-123'/'data.bin').exists()


def test_zenodo_offline_or_missing_metadata_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match='cannot read the metadata of Zenodo record 999.*offline'):
        zenodo_fetch(999, cache=tmp_path/'cache', api=str(tmp_path/'nowhere'), progress=False)


def test_zenodo_missing_file_is_a_clear_error(tmp_path):
    api = _record(tmp_path, 7, {'a.bin': b'x'})
    (tmp_path/'store'/'a.bin').unlink()
    with pytest.raises(DataError, match='record 7, file a.bin: download failed'):
        zenodo_fetch(7, cache=tmp_path/'cache', api=api, progress=False)
    assert not any((tmp_path/'cache').rglob('a.bin'))


def test_histological_missing_modality(tmp_path):
    d = tmp_path/'HighRes_Splits'/'WSI'/'test'; d.mkdir(parents=True)
    tifffile.imwrite(d/'c1_SHG.tif', np.eye(8, dtype=np.uint8))
    with pytest.raises(DataError, match=r"cores missing one modality: \['c1'\]"):
        histological_pairs(tmp_path)


def test_cytological_stacks_folds_and_tiles(tmp_path):
    rng = np.random.default_rng(0)
    for line in ('DU145', 'PNT1A', 'LNCaP'):
        for kind in ('GREEN', 'QPI'):
            stack = (rng.random((61, 600, 600)) * 65535).astype(np.uint16)
            tifffile.imwrite(tmp_path/f'{kind}_{line}_do_1.tif', stack)
    test = cytological_pairs(tmp_path, fold=2, split='test')
    train = cytological_pairs(tmp_path, fold=2, split='train')
    assert {p.meta['cell_line'] for p in test} == {'PNT1A'}
    assert {p.meta['cell_line'] for p in train} == {'DU145', 'LNCaP'}
    assert len(test) == 5 * 4 and test[0].a.shape == (300, 300)     # frames 0,15,..,60 × 2×2 tiles
    assert test[0].name == 'PNT1A_do_1_f00_01_01'
    # the tile is the top-left quarter of the last frame
    last = tifffile.imread(tmp_path/'GREEN_PNT1A_do_1.tif')[-1][:300, :300].astype(float)
    np.testing.assert_allclose(test[0].a, (last - last.min()) / np.ptp(last), atol=1e-6)
    with pytest.raises(DataError, match='fold must be one of'):
        cytological_pairs(tmp_path, fold=4)


def _multiregeval_patch(img, angle_deg, tx, ty, o, w):
    "The bundle's own recipe: skimage warp of the whole image by the centred transform, then a central crop."
    c = np.array(img.shape[:2]) / 2. - 0.5
    tform = (skt.SimilarityTransform(translation=(tx, ty)) + skt.SimilarityTransform(translation=-c)
             + skt.SimilarityTransform(rotation=np.deg2rad(angle_deg)) + skt.SimilarityTransform(translation=c))
    moved = skt.warp(img, tform, preserve_range=True)
    return img[o:o+w, o:o+w], moved[o:o+w, o:o+w]


def test_bundle_transform_matches_the_bundle_recipe(tmp_path):
    pair = synthetic_pair(400, seed=3)
    w, o = 200, 100
    rows = []
    base = tmp_path/'Eliceiri_patches'/'patch_tlevel3'
    for m in ('A', 'B'): (base/m/'test').mkdir(parents=True)
    for i, (ang, tx, ty) in enumerate([(12.0, 45.0, -50.0), (-14.0, -41.0, 44.0)]):
        name = f'core{i}'
        for m, img in (('A', pair.a), ('B', pair.b)):
            ref, trans = _multiregeval_patch(img * 255, ang, tx, ty, o, w)
            tifffile.imwrite(base/m/'test'/f'{name}_R.tif', np.round(ref).astype(np.uint8))
            tifffile.imwrite(base/m/'test'/f'{name}_T.tif', np.round(trans).astype(np.uint8))
        rows.append(f'{name},{tx},{ty},{ang},{np.deg2rad(ang)}')
    (base/'info_test.csv').write_text('Filename,Tx,Ty,AngleDegree,AngleRad\n' + '\n'.join(rows) + '\n')
    recs = bundle_records(tmp_path, 'Eliceiri', levels=(3,))
    assert len(recs) == 2 and recs[0].level == 3
    for r in recs:
        # our convention: moving(T(p)) = fixed(p), checked on the interior of the patch in both modalities
        for fixed, moving in ((r.fixed, r.moving_a), (r.fixed_b, r.moving)):
            expect = warp(fixed, r.transform, mode='constant', cval=np.nan)
            ok = np.isfinite(expect); ok[:3] = ok[-3:] = False; ok[:, :3] = ok[:, -3:] = False
            assert ok.mean() > 0.3
            assert np.median(np.abs(moving[ok] - expect[ok])) < 0.01


def test_make_eval_set_no_empty_borders_on_large_images():
    pair = synthetic_pair(400, seed=1)
    for r in make_eval_set([pair], patch=200, seed=0):
        # the moving patch comes from real image content (the image reaches 100 px beyond the patch)
        assert r.moving.std() > 0.05
        assert np.abs(r.transform.tx) < 4 * 7 * 200 / 300 + 1e-9


def test_image_smaller_than_patch():
    with pytest.raises(DataError, match=r'smaller than the patch size 300'):
        make_eval_set([synthetic_pair(128, 0)], patch=300)


def test_mismatched_pair_shapes():
    with pytest.raises(DataError, match='modality A is .* but modality B is'):
        Pair(np.eye(8, dtype=np.float32), np.eye(9, dtype=np.float32), 'odd')


@pytest.mark.skipif(not (SHARED_DATA/'uwloci-shg-he').exists(), reason='shared/data/uwloci-shg-he is not on this machine')
def test_uwloci_real_pairs():
    pairs = uwloci_pairs(SHARED_DATA)
    assert len(pairs) == 20
    assert all(p.a.shape == (512, 512) and p.a.dtype == np.float32 for p in pairs)
    assert all(0 <= p.a.min() and p.a.max() <= 1 for p in pairs)


@pytest.mark.skipif(not (SHARED_DATA/'uwloci-shg-he').exists(), reason='shared/data/uwloci-shg-he is not on this machine')
def test_automatic_normalisation_finds_the_shg_log():
    "Without --log-a, every shared SHG core gets the logarithm and no bright-field image does, so the flag changes nothing."
    from corepreg.data import folder_pairs, heavy_tailed, read_image
    root = SHARED_DATA/'uwloci-shg-he'
    auto = folder_pairs(root/'Input'/'SHG_512_not_adjusted', root/'comparison'/'truth')
    forced = folder_pairs(root/'Input'/'SHG_512_not_adjusted', root/'comparison'/'truth', log_a=True)
    assert [p.meta['log_a'] for p in auto] == [True] * 20 and [p.meta['log_b'] for p in auto] == [False] * 20
    assert all(np.array_equal(p.a, q.a) and np.array_equal(p.b, q.b) for p, q in zip(auto, forced))
    # min–max scaling, the old default, leaves most of the tissue black: the median SHG pixel sits below 5 % of the range
    shg = read_image(root/'Input'/'SHG_512_not_adjusted'/'1B_A1.tif')
    assert heavy_tailed(shg) and np.median(shg / shg.max()) < 0.05
    assert np.median(auto[0].a) > 3 * np.median(shg / shg.max())


@pytest.mark.skipif(not (SHARED_DATA/'isl-kevan-phase-fluo').exists(), reason='shared/data/isl-kevan-phase-fluo is not on this machine')
def test_isl_tiles():
    "The ISL field: 16 aligned 256-px tiles; phase contrast is only clipped, the confocal channel gets the logarithm."
    from corepreg.data import isl_pairs, heavy_tailed, read_image, ISL_FILE, ISL_CHANNELS
    pairs = isl_pairs(SHARED_DATA)
    assert len(pairs) == 16 and {p.shape for p in pairs} == {(256, 256)}
    assert len({p.name for p in pairs}) == 16
    folder = SHARED_DATA/'isl-kevan-phase-fluo'/'images'
    assert not heavy_tailed(read_image(folder/ISL_FILE.format(ISL_CHANNELS['PHASE'])))
    assert heavy_tailed(read_image(folder/ISL_FILE.format(ISL_CHANNELS['NFH'])))


def test_align_colour_cli_brings_a_turned_scaled_colour_image_back(tmp_path):
    "`corepreg align-colour` undoes a known similarity of a colour image against its grey partner, and refuses a mismatch by name."
    import csv
    from skimage import data as skdata, io as skio
    from skimage.color import rgb2gray
    from skimage.transform import SimilarityTransform, warp as skwarp
    from conftest import VENV_BIN, run
    (tmp_path/'ref').mkdir(); (tmp_path/'col').mkdir()
    rgb = skdata.immunohistochemistry()[64:448, 64:448]
    true = SimilarityTransform(scale=0.96, rotation=np.radians(-11), translation=(25, -8))
    skio.imsave(tmp_path/'ref'/'core.png', (rgb2gray(rgb) * 255).round().astype(np.uint8), check_contrast=False)
    tifffile.imwrite(tmp_path/'col'/'core.tif', np.stack([skwarp(rgb[..., c], true.inverse, order=1, preserve_range=True)
                                                          for c in range(3)], -1).round().astype(np.uint8))
    corepreg = str(VENV_BIN/'corepreg')
    r = run([corepreg, 'align-colour', '--reference', str(tmp_path/'ref'), '--colour', str(tmp_path/'col'), '--out', str(tmp_path/'out')])
    assert r.returncode == 0, r.stderr
    with open(tmp_path/'out'/'alignment.csv', newline='') as f: fit = next(csv.DictReader(f))
    assert abs(float(fit['scale']) - 0.96) < 0.005 and abs(float(fit['angle']) + 11) < 0.2 and float(fit['r']) > 0.99
    back = tifffile.imread(tmp_path/'out'/'core.tif').astype(float)
    assert back.shape == rgb.shape and np.abs(back[80:300, 80:300] - rgb[80:300, 80:300]).mean() < 4
    tifffile.imwrite(tmp_path/'col'/'core.tif', (np.random.default_rng(0).random(rgb.shape) * 255).astype(np.uint8))
    r = run([corepreg, 'align-colour', '--reference', str(tmp_path/'ref'), '--colour', str(tmp_path/'col'), '--out', str(tmp_path/'bad')])
    assert r.returncode == 1 and 'core.tif' in r.stderr and not (tmp_path/'bad'/'core.tif').exists(), r.stderr


@pytest.mark.skipif(not (SHARED_DATA/'isl-kevan-phase-fluo').exists(), reason='shared/data/isl-kevan-phase-fluo is not on this machine')
def test_isl_colour_b_gives_network_b_the_three_confocal_channels_of_the_same_tiles():
    "`--colour-b` on ISL: B is DAPI, MAP2, NFH stacked, NFH as alone; the split is the grey one; network B takes 3 channels."
    from corepreg.data import ISL_CONFOCAL, DataConfig, isl_pairs, source_pairs
    from corepreg.cli import grid_from_args, parser
    from corepreg.study import Cell, train_config
    from corepreg.train import build_models
    grey, three = isl_pairs(SHARED_DATA), isl_pairs(SHARED_DATA, b=ISL_CONFOCAL)
    dapi = isl_pairs(SHARED_DATA, b='DAPI')
    assert {p.b.shape for p in three} == {(256, 256, 3)}
    assert all(np.array_equal(t.b[..., 2], g.b) and np.array_equal(t.b[..., 0], d.b) and np.array_equal(t.a, g.a)
               for t, g, d in zip(three, grey, dapi))
    assert not np.allclose(three[5].b[..., 0], three[5].b[..., 2])   # three different channels, not one repeated
    for fold in (1, 2):
        for split in ('train', 'test'):
            names = lambda colour: [p.name for p in source_pairs(DataConfig('isl', fold=fold, colour_b=colour), split)]
            assert names(True) == names(False)
    grid = grid_from_args(parser().parse_args(['study', '--data', 'isl,synthetic', '--colour-b', '--preset', 'standard']))
    cfg_isl, cfg_syn = (train_config(grid, Cell(ds, 1, 0, 'none', 'mse')) for ds in ('isl', 'synthetic'))
    assert cfg_isl.data.colour_b and not cfg_syn.data.colour_b
    assert build_models(cfg_isl)['B'].net.first.in_channels == 3 and build_models(cfg_syn)['B'].net.first.in_channels == 1
    assert source_pairs(cfg_isl.data)[0].b.ndim == 3
    with pytest.raises(Exception, match='neither'):
        grid_from_args(parser().parse_args(['study', '--data', 'synthetic', '--colour-b']))


def test_to_gray_weighs_the_channels_as_its_docstring_says():
    "Rec. 709 luma (what scikit-image's rgb2gray uses), not ITU-R 601's 0.299 / 0.587 / 0.114: it decides the raw baselines' grey."
    from corepreg.images import to_gray
    assert np.allclose([to_gray(np.eye(3)[i][None, None, :]).item() for i in range(3)], [0.2125, 0.7154, 0.0721], atol=1e-4)
    assert np.allclose(to_gray(np.ones((2, 3, 4))[..., :3] * 0.5), 0.5) and to_gray(np.moveaxis(np.eye(3)[[1]][None], -1, 0)).item() > 0.7


def test_validation_images_stay_inside_the_training_half(tmp_path):
    "With val_images, training, validation and the held-out half are disjoint; the trainer validates on the validation images."
    from corepreg.core import ConfigError
    from corepreg.datasets import DataConfig, source_pairs
    from corepreg.train import TRAIN_PRESETS, validation_patches
    rng = np.random.default_rng(0)
    for d in ('a', 'b'): (tmp_path/d).mkdir()
    for i in range(10):
        img = (rng.random((96, 96)) * 255).astype(np.uint8)
        for d in ('a', 'b'): tifffile.imwrite(tmp_path/d/f'core{i}.tif', img)
    data = DataConfig('folder', str(tmp_path/'a'), str(tmp_path/'b'), val_images=2, patch=32)
    names = {s: {p.name for p in source_pairs(data, s)} for s in ('train', 'val', 'test')}
    assert [len(names[s]) for s in ('train', 'val', 'test')] == [3, 2, 5]
    assert not (names['train'] & names['val']) and not ((names['train'] | names['val']) & names['test'])
    cfg = TRAIN_PRESETS['quick'].replace(data=data)
    xa, _ = validation_patches(cfg, n=4)
    val = np.stack([np.asarray(p.a, float) for p in source_pairs(data, 'val')])
    test = np.stack([np.asarray(p.a, float) for p in source_pairs(data, 'test')])
    patch = xa[0, 0].numpy()                                          # a validation patch comes from a validation image
    def found(stack): return any(np.allclose(patch, im[y:y + 32, x:x + 32], atol=1e-5) for im in stack for y in range(65) for x in range(65))
    assert found(val) and not found(test)
    with pytest.raises(ConfigError, match='val_images'): source_pairs(data.replace(val_images=0), 'val')
    with pytest.raises(ConfigError, match='val_images'): source_pairs(DataConfig('ihc', val_images=1), 'train')
