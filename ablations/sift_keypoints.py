"""Why `sift` registers only half of the held-out colour CoMIRs: the representation, or the back-end?

For each evaluation pair of one cell of a finished study (default: `runs/uwloci-rgb`, the plain CoMIR with network B in
colour, seed 0), the script computes the two CoMIRs with the cell's own networks, then SIFT keypoints and descriptors
(`corepreg.register.sift_keypoints`, as `register_sift` uses it: images stretched to [0, 1], c_dog 0.01/3, first-octave upsampling 2, the 500
largest-scale keypoints) and asks, with the pair's true transform:

- **repeatability**: the share of the fixed CoMIR's keypoints (those that land inside the moving patch) with a moving
  keypoint within 3 px of their true position;
- **correct matches**: cross-checked descriptor matches whose moving keypoint lies within 5 px of the true position.

The same is measured intra-modally, network B's CoMIR of the fixed patch against network B's CoMIR of the moving patch
(`fixed_b` of the record): how far the CoMIRs would carry SIFT if the two modalities' CoMIRs were one image.

It then registers each pair three ways on the same keypoints and scores success as the study does (corner error <= 2 %
of the patch width):
- `package`: `register(..., 'sift')` itself (upsampling 'auto', cross-check, RANSAC with 3-point samples, 2 000 trials);
- `rigid2`: cross-check matches, RANSAC with 2-point samples (a rigid transform has 3 degrees of freedom, so two
  points fix it) and 10 000 trials: a sample of correct matches is (n/N)^-1 times likelier than with 3 points;
- `ratio`: Lowe's ratio test (0.8) instead of the cross-check, then as `rigid2`.

Usage: python ablations/sift_keypoints.py [--study runs/uwloci-rgb] [--folds 1,2] [--seed 0] [--pairs 0] [--out results/ablations/sift.json]
"""
import argparse, json, os, platform, sys, time, warnings
from pathlib import Path
import numpy as np, pandas as pd

from corepreg.core import save_json
from corepreg.evaluate import SUCCESS_THRESHOLD, corner_error
from corepreg.infer import Representer
from corepreg.register import register, sift_keypoints
from corepreg.study import StudyGrid, eval_set, git_commit
from corepreg.transforms import RigidTransform


def truth_stats(k0, k1, T:RigidTransform, shape) -> dict:
    "Repeatability of k0's keypoints in k1, and the correct cross-checked matches, under the true transform T (fixed -> moving)."
    from skimage.feature import match_descriptors
    (p0, d0), (p1, d1) = k0, k1
    h, w = shape
    q = (np.c_[p0, np.ones(len(p0))] @ T.matrix().T)[:, :2]
    inside = (q[:, 0] >= 0) & (q[:, 0] < w) & (q[:, 1] >= 0) & (q[:, 1] < h)
    near = np.sqrt(((q[:, None] - p1[None]) ** 2).sum(-1)).min(1) < 3
    m = match_descriptors(d0, d1, cross_check=True)
    ok = np.sqrt(((q[m[:, 0]] - p1[m[:, 1]]) ** 2).sum(-1)) < 5
    return {'repeat': float(near[inside].mean()) if inside.any() else 0.0, 'matches': len(m), 'correct': int(ok.sum())}


def fit(k0, k1, shape, ratio:float|None, trials:int=10_000, seed:int=0) -> RigidTransform|None:
    "Match (cross-check, or Lowe's ratio test), then RANSAC on 2-point samples with a Euclidean model."
    from skimage.feature import match_descriptors
    from skimage.measure import ransac
    from skimage.transform import EuclideanTransform
    m = (match_descriptors(k0[1], k1[1], cross_check=True) if ratio is None else
         match_descriptors(k0[1], k1[1], max_ratio=ratio, cross_check=False))
    if len(m) < 3: return None
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model, inl = ransac((k0[0][m[:, 0]], k1[0][m[:, 1]]), EuclideanTransform, min_samples=2, residual_threshold=2.0,
                            max_trials=trials, rng=seed)
    if not model or inl is None or inl.sum() < 3: return None
    h, w = shape
    return RigidTransform.from_matrix(model.params, (w - 1) / 2, (h - 1) / 2)


def one_fold(study:Path, fold:int, seed:int, pairs:int=0) -> pd.DataFrame:
    grid = StudyGrid.from_json(study/'grid.json')
    rep = Representer(study/'runs'/f'folder-f{fold}-s{seed}-none-mse')
    rows = []
    for i, r in enumerate(eval_set(grid, 'folder', fold)[:pairs or None]):
        fa, mb, fb = rep(r.fixed, 'A'), rep(r.moving, 'B'), rep(r.fixed_b, 'B')
        shape, w = r.fixed.shape[:2], r.fixed.shape[1]
        ka, kb, kfb = (sift_keypoints(x) for x in (fa, mb, fb))   # as `register_sift` at upsampling 2
        ok = lambda est: est is not None and corner_error(r.transform, est, shape) <= SUCCESS_THRESHOLD * w
        pkg = register(fa, mb, 'sift')
        rows.append({'pair': i, 'name': r.name, 'level': r.level,
                     **{f'AB_{k}': v for k, v in truth_stats(ka, kb, r.transform, shape).items()},
                     **{f'BB_{k}': v for k, v in truth_stats(kfb, kb, r.transform, shape).items()},
                     'package': ok(pkg) and not pkg.failed, 'rigid2': ok(fit(ka, kb, shape, None)), 'ratio': ok(fit(ka, kb, shape, 0.8))})
        print(f"fold {fold} pair {i + 1}: {r.name} correct AB {rows[-1]['AB_correct']} BB {rows[-1]['BB_correct']}", file=sys.stderr)
    return pd.DataFrame(rows)


def summary(df:pd.DataFrame) -> dict:
    "Per fold: medians of the keypoint statistics, split by whether the package's sift succeeded; success of each variant."
    cols = ['AB_repeat', 'AB_matches', 'AB_correct', 'BB_repeat', 'BB_matches', 'BB_correct']
    return {'pairs': len(df), 'success': {v: round(float(df[v].mean()), 3) for v in ('package', 'rigid2', 'ratio')},
            'pairs_with_3_correct_AB': round(float((df.AB_correct >= 3).mean()), 3),
            'median': {k: {c: round(float(v), 3) if len(g) else None for c, v in g[cols].median().items()} for k, g in
                       (('all', df), ('package_success', df[df.package]), ('package_failure', df[~df.package]))},
            'per_core': df.groupby('name')[['AB_repeat', 'AB_correct', 'BB_repeat', 'BB_correct', 'package', 'rigid2', 'ratio']]
                          .mean().round(3).sort_values('package').reset_index().to_dict('records')}


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--study', default='runs/uwloci-rgb'); ap.add_argument('--folds', default='1,2')
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--out', default='results/ablations/sift.json')
    ap.add_argument('--pairs', type=int, default=0, help='the first N pairs of each fold only (0: all)')
    a = ap.parse_args()
    t0, commit = time.time(), git_commit()
    res = {'command': 'python ablations/sift_keypoints.py ' + ' '.join(sys.argv[1:]), 'commit': commit, 'study': a.study, 'seed': a.seed,
           'machine': f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}", 'folds': {}}
    for f in map(int, a.folds.split(',')):
        df = one_fold(Path(a.study), f, a.seed, a.pairs)
        res['folds'][str(f)] = summary(df)
        print(json.dumps({k: v for k, v in res['folds'][str(f)].items() if k != 'per_core'}, indent=1))
    res['seconds'] = round(time.time() - t0, 1)
    save_json(a.out, res)
