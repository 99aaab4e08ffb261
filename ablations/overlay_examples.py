"""Three overlays for the *Registering your own images* chapter, chosen by rule from `results/ablations/similarity.json`
(run `ablations/similarity.py` first), not by eye:

- good: the core whose bright-field differs most in scale from its SHG, registered with `--transform similarity`;
- near miss: the same core, rigid (the scale it cannot follow leaves the corners a few pixels off);
- failure: that core's SHG against another core's bright-field (an unrelated pair), which must come out uncertain.

Each is `register_pair`'s own overlay.png (whole circle, `fftmi`), halved and saved as JPEG in `nbs/images/`; the captions,
errors and confidences go to `results/ablations/overlay_examples.json`.

Usage: python ablations/overlay_examples.py
"""
import io, math, subprocess, tempfile, json
from pathlib import Path
import numpy as np
from PIL import Image

from corepreg.core import atomic_write, save_json
from corepreg.evaluate import corner_error
from corepreg.images import read_image, to_gray
from corepreg.register_files import caption, register_pair, uncertain
from corepreg.transforms import RigidTransform

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
import similarity as S   # the same data, reference and reading


def example(fixed, moving, transform, truth, stem):
    with tempfile.TemporaryDirectory() as tmp:
        est = register_pair(fixed, moving, method='fftmi', transform=transform, out=tmp)
        img = Image.open(Path(tmp)/'overlay.png').convert('RGB')
    img = img.resize((img.width // 2, img.height // 2), Image.LANCZOS)
    buf = io.BytesIO(); img.save(buf, format='JPEG', quality=85); atomic_write(ROOT/'nbs'/'images'/f'{stem}.jpg', buf.getvalue())
    err = None if truth is None else corner_error(truth, est, fixed.shape)
    return {'file': f'images/{stem}.jpg', 'transform': transform, 'caption': caption(est, 'fftmi'), 'error_px': err,
            'confidence': est.confidence, 'uncertain': uncertain(est), 'scale': est.scale, 'angle': est.angle}


if __name__ == '__main__':
    sim = json.loads((ROOT/'results'/'ablations'/'similarity.json').read_text())
    cores = [c for c in sim['cores'] if c['has_reference']]
    core = max(cores, key=lambda c: abs(math.log(c['scale'])))
    other = next(c for c in sim['cores'] if c['name'] != core['name'])
    T, _, he = S.reference(core['name'])
    shg = read_image(S.SHG/f"{core['name']}.tif")
    he_other = to_gray(read_image(S.HE/f"{other['name']}.tif", gray=False))
    out = {'core': core['name'], 'scale': core['scale'], 'unrelated': other['name'],
           'good': example(shg, he, 'similarity', T, 'overlay_good'),
           'near_miss': example(shg, he, 'rigid', T, 'overlay_near_miss'),
           'failure': example(shg, he_other, 'similarity', None, 'overlay_failure')}
    out['commit'] = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
    out['command'] = 'python ablations/overlay_examples.py'
    save_json(ROOT/'results'/'ablations'/'overlay_examples.json', out)
    for k in ('good', 'near_miss', 'failure'): print(k, out[k])
