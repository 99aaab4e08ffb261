"""The cost of `transform='similarity'` and of `confidence`, and rigid registration's speed before and after they came.

1. Similarity against rigid, side by side pair by pair: the 20 shared cores' SHG (fixed) against their raw bright-field
   (moving, grey, 512 px), each back-end over the whole circle (`fftmi` angles='full'; `mi`/`ssd` a ±180° grid), rigid and
   similarity one after the other on each pair; reported: median seconds of each and the median per-pair ratio.
2. `confidence` on the same pairs: median seconds, and its ratio to the rigid registration it scores.
3. Rigid `register` at this commit against `--old` (a checkout of the commit before similarity and confidence), on the
   same pairs: each side in its own process (one package per process), alternating, `--rounds` rounds; the median of the
   per-round medians, and whether the two give the same transforms.

Usage: python benchmarks/bench_similarity.py --old /path/to/old/checkout [--rounds 3] [--out benchmarks/results_similarity.json]
"""
import argparse, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path
import numpy as np

HERE = Path(__file__).resolve().parent
SNIPPET = r'''
import json, sys, time, numpy as np
from pathlib import Path
from corepreg.images import read_image, to_gray
from corepreg.register import register
D = Path(sys.argv[1]); out = []
for f in sorted((D/'Input'/'SHG_512_not_adjusted').glob('*.tif'))[:int(sys.argv[2])]:
    shg, he = read_image(f), to_gray(read_image(D/'Input'/'HE_512'/f.name, gray=False))
    for m, opts in (('fftmi', {'angles': 'full'}), ('ssd', {'max_angle': 180.0})):
        e = register(shg, he, m, **opts); out.append([m, e.seconds, e.angle, e.tx, e.ty])
print(json.dumps(out))
'''


def rigid_side_by_side(old:str, data:Path, n:int, rounds:int) -> dict:
    "Rigid fftmi / ssd at this checkout and at `old`, each in its own process, alternating rounds."
    runs = {'old': [], 'new': []}
    for _ in range(rounds):
        for which, root in (('old', old), ('new', str(HERE.parent))):
            env = {**os.environ, 'PYTHONPATH': root, 'OMP_NUM_THREADS': '2'}
            res = subprocess.run([sys.executable, '-c', SNIPPET, str(data), str(n)], env=env, capture_output=True, text=True, cwd=root)
            if res.returncode: raise SystemExit(res.stderr)
            runs[which].append(json.loads(res.stdout.strip().splitlines()[-1]))
    out = {}
    for m in ('fftmi', 'ssd'):
        med = {w: [statistics.median(r[1] for r in run if r[0] == m) for run in runs[w]] for w in runs}
        same = all(np.allclose([r[2:] for r in a if r[0] == m], [r[2:] for r in b if r[0] == m], atol=1e-6)
                   for a, b in zip(runs['old'], runs['new']))
        out[m] = {'median_seconds_old': statistics.median(med['old']), 'median_seconds_new': statistics.median(med['new']),
                  'ratio_new_over_old': statistics.median(med['new']) / statistics.median(med['old']), 'round_medians': med,
                  'same_transforms': bool(same)}
        print('rigid', m, {k: v for k, v in out[m].items() if k != 'round_medians'}, flush=True)
    return out


def similarity_cost(data:Path, n:int) -> dict:
    from corepreg.images import read_image, to_gray
    from corepreg.register import confidence, register
    rows = {}
    for f in sorted((data/'Input'/'SHG_512_not_adjusted').glob('*.tif'))[:n]:
        shg, he = read_image(f), to_gray(read_image(data/'Input'/'HE_512'/f.name, gray=False))
        for m, opts in (('fftmi', {'angles': 'full'}), ('ssd', {'max_angle': 180.0}), ('mi', {'max_angle': 180.0}), ('sift', {})):
            r, s = (register(shg, he, m, t, **opts) for t in ('rigid', 'similarity'))
            t0 = time.perf_counter(); confidence(shg, he, r); c = time.perf_counter() - t0
            rows.setdefault(m, []).append((r.seconds, s.seconds, c))
    out = {}
    for m, v in rows.items():
        v = np.array(v)
        out[m] = {'n': len(v), 'median_seconds_rigid': float(np.median(v[:, 0])), 'median_seconds_similarity': float(np.median(v[:, 1])),
                  'median_ratio_similarity_over_rigid': float(np.median(v[:, 1] / v[:, 0])),
                  'median_seconds_confidence': float(np.median(v[:, 2])), 'median_ratio_confidence_over_rigid': float(np.median(v[:, 2] / v[:, 0]))}
        print(m, {k: round(x, 3) for k, x in out[m].items()}, flush=True)
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--old', required=True, help='a checkout of the commit before similarity and confidence')
    ap.add_argument('--pairs', type=int, default=20)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--out', default=str(HERE/'results_similarity.json'))
    a = ap.parse_args()
    from corepreg.core import save_json
    from corepreg.datasets import data_root
    data = data_root()/'uwloci-shg-he'
    t0 = time.time()
    old_commit = subprocess.run(['git', '-C', a.old, 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True, cwd=HERE).stdout.strip()
    res = {'similarity': similarity_cost(data, a.pairs), 'rigid': rigid_side_by_side(a.old, data, a.pairs, a.rounds)}
    save_json(a.out, {'command': f'python benchmarks/bench_similarity.py --old <checkout of {old_commit[:7]}> --pairs {a.pairs} --rounds {a.rounds}',
                      'commit': commit, 'old_commit': old_commit, 'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch threads 2",
                      'wall_s': round(time.time() - t0, 1), **res})
