"""Benchmarks: monomodal ground truth (40 pairs per level) and seconds per pair for each back-end.

Usage: python benchmarks/bench_register.py [--pairs 40] [--out benchmarks/results_register.json]
"""
import argparse, json, os, platform, time
from pathlib import Path
import torch
from skimage import data as skdata
from corepreg.core import save_json
from corepreg.data import image_crops, make_eval_set, synthetic_pair, synthetic_pairs
from corepreg.evaluate import evaluate, summary

HERE = Path(__file__).resolve().parent




if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--pairs', type=int, default=40)
    ap.add_argument('--timing-pairs', type=int, default=5)
    ap.add_argument('--out', default=str(HERE/'results_register.json'))
    ap.add_argument('--only', choices=('monomodal', 'timing'), help='run one part; the other is kept from --out')
    a = ap.parse_args()
    t0 = time.time()
    res = {'machine': f"{platform.machine()}, {os.cpu_count()} cores" + (f', {torch.cuda.get_device_name()}' if torch.cuda.is_available() else ''), 'monomodal': {}, 'timing': {}}
    if a.only and Path(a.out).exists():
        res = {**json.loads(Path(a.out).read_text()), 'machine': res['machine']}
        res[a.only] = {}
    images = {} if a.only == 'timing' else {'camera': skdata.camera(), 'cell': skdata.cell(), 'synthetic-A': synthetic_pair(700, 11).a}
    for name, img in images.items():   # 300-px crops, 240-px patches (protocol step 7·240/300 = 5.6 px)
        recs = make_eval_set(image_crops(img, a.pairs, 300, seed=1), patch=240, seed=3)
        for method in ('sift', 'fftmi', 'ssd', 'mi'):
            sub = recs if method != 'mi' else [r for i, r in enumerate(recs) if (i // 4) < max(10, a.pairs // 4)]
            df = evaluate(sub, method, progress=False)
            s = summary(df).iloc[0].to_dict()
            res['monomodal'][f'{name}/{method}'] = {k: float(v) for k, v in s.items()}
            print(name, method, {k: round(float(v), 3) for k, v in s.items()}, flush=True)
    for width in (() if a.only == 'monomodal' else (300, 834)):           # multimodal synthetic pairs; seconds per pair, success beside
        pairs = synthetic_pairs(a.timing_pairs, width + 120, seed=9)
        recs = make_eval_set(pairs, patch=width, levels=(2,), seed=4)
        runs = [('sift', {}), ('fftmi', {'device': 'cpu'}), ('ssd', {}), ('mi', {})]
        if torch.cuda.is_available(): runs.append(('fftmi', {'device': 'cuda'}))
        for method, kw in runs:
            df = evaluate(recs, method, progress=False, **kw)
            if kw.get('device') == 'cuda': method = 'fftmi-cuda'
            res['timing'][f'{width}/{method}'] = {'median_seconds': float(df['seconds'].median()),
                                                  'success_rate': float(df['success'].mean()), 'n': len(df)}
            print(width, method, res['timing'][f'{width}/{method}'], flush=True)
    res[f"wall_s_{a.only or 'all'}"] = time.time() - t0
    save_json(a.out, res)   # atomic: write, then rename
