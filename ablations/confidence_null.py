"""How often an unrelated pair passes as certain: `confidence` on pairs that have nothing in common.

Every pair of 10 scikit-image pictures (camera, astronaut, coffee, chelsea, brick, grass, gravel, moon, rocket, coins; grey),
a random crop of each (seeded), at 128 and 256 px: 45 pairs a size. Each registered by `fftmi` (whole circle) and `ssd`
(±180° grid), then scored. `fftmi`'s estimate is the best MI over the whole search, so on an unrelated pair it is the
maximum of chance alone; the mirrored rival in `confidence_parts` is there to meet it.

Writes results/ablations/confidence_null.csv (one row per pair, size and back-end).

Usage: python ablations/confidence_null.py
"""
import itertools
from pathlib import Path
import numpy as np
import pandas as pd
from skimage import data as skdata

from corepreg.core import atomic_write
from corepreg.register import confidence, register

HERE = Path(__file__).resolve().parent
NAMES = ('camera', 'astronaut', 'coffee', 'chelsea', 'brick', 'grass', 'gravel', 'moon', 'rocket', 'coins')

if __name__ == '__main__':
    imgs = {n: getattr(skdata, n)() for n in NAMES}
    imgs = {n: (i if i.ndim == 2 else i[..., :3].mean(-1)).astype(np.float32) / 255 for n, i in imgs.items()}
    rng, rows = np.random.default_rng(0), []
    for size in (128, 256):
        for a, b in itertools.combinations(NAMES, 2):
            crops = []
            for img in (imgs[a], imgs[b]):
                y, x = rng.integers(0, img.shape[0] - size), rng.integers(0, img.shape[1] - size)
                crops.append(img[y:y + size, x:x + size])
            for method, opts in (('fftmi', {'angles': 'full'}), ('ssd', {'max_angle': 180.0})):
                est = register(*crops, method, **opts)
                rows.append({'size': size, 'fixed': a, 'moving': b, 'method': method, 'failed': est.failed,
                             'confidence': float('nan') if est.failed else confidence(*crops, est)})
        print(size, 'done', flush=True)
    atomic_write(HERE.parent/'results'/'ablations'/'confidence_null.csv', pd.DataFrame(rows).to_csv(index=False))
