"""Does the bright-field's colour tell more about SHG than its grey does? (the bright-field as RGB)

The networks see the shared cores' bright-field as grey (`comparison/truth`, the only bright-field registered into the
SHG frame). The raw `Input/HE_512` is RGB but not registered. This script:

1. brings each core's `HE_512` into the frame of its `truth`: a RANSAC similarity fit to cross-checked SIFT matches of
   truth and grey(HE_512) (monomodal, `corepreg.datasets.similarity_fit`, as `align_colour` does), then each colour channel warped by it;
   the Pearson r between grey(warped HE_512) and truth, inside the warped image's footprint, checks the fit;
2. asks how well a per-pixel regressor predicts the SHG (normalised as the trainer does, then blurred by 1 px) from the
   bright-field, given: `grey` (truth), `rgb` (the warped HE_512), `hed` (its three stain channels by
   `skimage.color.rgb2hed`) or `eosin` (the eosin channel alone, a 2-D stand-in for colour). The features are the same
   for each: every channel standardised, then Gaussian blurs (sigma 1, 2, 4, 8 px) and gradient magnitudes at each;
   the model is scikit-learn's `HistGradientBoostingRegressor` fitted on 20 000 pixels of each training core;
3. scores it by the mean Pearson r between prediction and SHG on the held-out cores, fold 1 and fold 2 (the study's
   split: `split_seed` 0, the first seeded half trains in fold 1, the second in fold 2).

It is a bound of one kind only: how much SHG a small, local, pixel-wise model reads off each form of the bright-field.
A gap between `grey` and `rgb` says the colour carries information about SHG that the grey throws away.

Usage: python ablations/colour.py [--out results/ablations/colour.json]
"""
import argparse, functools, os, platform, sys, time
from pathlib import Path
from types import SimpleNamespace
import numpy as np
from scipy import ndimage
from corepreg.core import save_json
from corepreg.datasets import data_root, _halves, similarity_fit   # the package's monomodal SIFT similarity fit (align_colour's)
from corepreg.images import normalise, read_image, to_gray, to_unit
from corepreg.study import git_commit

HERE = Path(__file__).resolve().parent
D = data_root()/'uwloci-shg-he'
SHG, HE, TRUTH = D/'Input'/'SHG_512_not_adjusted', D/'Input'/'HE_512', D/'comparison'/'truth'
KINDS = ('grey', 'rgb', 'hed', 'eosin')


@functools.lru_cache(maxsize=None)   # one fit per core and process (rgb asks for each core once per arm)
def aligned_colour(name):
    "HE_512 (RGB) warped into the frame of `truth`, its footprint there (eroded by 4 px) and r(grey of it, truth) inside it."
    from skimage.transform import warp
    truth, he = read_image(TRUTH/f'{name}.tif'), read_image(HE/f'{name}.tif', gray=False)
    model, _ = similarity_fit(truth, to_gray(he))
    rgb = np.stack([warp(he[..., c].astype(float), model, order=1, output_shape=truth.shape, preserve_range=True) for c in range(3)], -1)
    inside = ndimage.binary_erosion(warp(np.ones(he.shape[:2]), model, order=0, output_shape=truth.shape) > 0.5, iterations=4)
    r = float(np.corrcoef(to_gray(rgb.astype(np.float32))[inside], truth[inside].astype(float))[0, 1])
    return truth.astype(np.float32), rgb.astype(np.float32), inside, r, float(model.scale)


def features(channels) -> np.ndarray:
    "(H, W, F): per channel, standardised, its blurs at sigma 1, 2, 4, 8 px and the gradient magnitude at each."
    out = []
    for c in channels:
        c = (c - c.mean()) / (c.std() + 1e-6)
        out.append(c)
        for s in (1, 2, 4, 8): out += [ndimage.gaussian_filter(c, s), ndimage.gaussian_gradient_magnitude(c, s)]
    return np.stack(out, -1)


def channels(core, kind):
    if kind == 'grey': return [core['truth']]
    if kind == 'rgb': return [core['rgb'][..., c] for c in range(3)]
    if kind == 'hed': return [core['hed'][..., c] for c in range(3)]
    return [core['hed'][..., 1]]


def main(out:Path):
    from skimage.color import rgb2hed
    from sklearn.ensemble import HistGradientBoostingRegressor
    t0 = time.time()
    names = sorted(p.stem for p in TRUTH.glob('*.tif'))
    cores, per_core = {}, []
    for n in names:
        truth, rgb, inside, r, scale = aligned_colour(n)
        shg, _ = normalise(read_image(SHG/f'{n}.tif'), name=n)
        cores[n] = dict(truth=truth, rgb=rgb, hed=rgb2hed(np.clip(rgb / 255, 0, 1)), inside=inside,
                        shg=ndimage.gaussian_filter(shg.astype(np.float32), 1))
        per_core.append({'name': n, 'r_grey_of_warped_vs_truth': round(r, 4), 'scale': round(scale, 4)})
    first = {p.name for p in _halves([SimpleNamespace(name=m) for m in names], seed=0)[0]}   # fold 1 trains on this half
    folds = {1: (sorted(first), sorted(set(names) - first)), 2: (sorted(set(names) - first), sorted(first))}
    rows = []
    for kind in KINDS:
        feats = {n: features(channels(cores[n], kind)) for n in names}
        for fold, (train, test) in folds.items():
            rng, X, y = np.random.default_rng(0), [], []
            for n in train:
                inside = cores[n]['inside']; idx = rng.choice(inside.sum(), 20_000, replace=False)
                X.append(feats[n][inside][idx]); y.append(cores[n]['shg'][inside][idx])
            model = HistGradientBoostingRegressor(max_iter=300, random_state=0).fit(np.concatenate(X), np.concatenate(y))
            rs = [float(np.corrcoef(model.predict(feats[n][cores[n]['inside']]), cores[n]['shg'][cores[n]['inside']])[0, 1]) for n in test]
            rows.append({'input': kind, 'fold': fold, 'held_out_r': round(float(np.mean(rs)), 4), 'per_core_r': dict(zip(test, np.round(rs, 4).tolist()))})
            print(kind, fold, rows[-1]['held_out_r'], flush=True)
    save_json(out, {'machine': f"{platform.machine()}, {os.cpu_count()} cores", 'commit': git_commit(), 'command': 'python ablations/colour.py',
                    'wall_minutes': round((time.time() - t0) / 60, 1), 'alignment': per_core, 'prediction': rows})


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=str(HERE.parent/'results'/'ablations'/'colour.json'))
    main(Path(ap.parse_args().out))
