"""Benchmark for issue 5: training steps per second of the quick and full presets (CPU; on a GPU also with and
without bfloat16 autocast and channels-last, with peak GPU memory).

Usage: python benchmarks/bench_train.py [--quick-steps 40] [--full-steps 6] [--out benchmarks/results_train.json]
The seconds of each step come from the trainer's own log (data loading included); the first two steps are dropped
(warm-up) and the median of the rest is reported.
"""
import argparse, os, platform, statistics, tempfile, time
from pathlib import Path
import torch
from corepreg.core import save_json
from corepreg.train import TRAIN_PRESETS, read_log, train

HERE = Path(__file__).resolve().parent


def measure(cfg, steps, device, **kw):
    with tempfile.TemporaryDirectory() as d:
        if device.startswith('cuda'): torch.cuda.reset_peak_memory_stats()
        t0 = time.time()
        train(cfg.replace(steps=steps, checkpoint_every=steps, **kw), d, device=device, progress=False)
        wall = time.time() - t0
        secs = [r['seconds'] for r in read_log(d)][2:]
    med = statistics.median(secs)
    out = {'steps': steps, 'median_step_seconds': med, 'steps_per_second': 1 / med, 'wall_seconds': wall,
           'batch': cfg.batch, 'patch': cfg.patch, 'model': cfg.model, **kw}
    if device.startswith('cuda'): out['peak_gpu_memory_gib'] = torch.cuda.max_memory_allocated() / 2**30
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick-steps', type=int, default=40)
    ap.add_argument('--full-steps', type=int, default=6)
    ap.add_argument('--gpu-steps', type=int, default=60)
    ap.add_argument('--out', default=str(HERE/'results_train.json'))
    a = ap.parse_args()
    res = {'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}",
           'cpu': {}, 'gpu': {}}
    for name, steps in (('quick', a.quick_steps), ('full', a.full_steps)):
        res['cpu'][name] = measure(TRAIN_PRESETS[name], steps, 'cpu')
        print('cpu', name, res['cpu'][name], flush=True)
    if torch.cuda.is_available():
        res['gpu_name'] = torch.cuda.get_device_name()
        for label, kw in (('fp32', {}), ('bf16', {'amp': True}), ('bf16+channels_last', {'amp': True, 'channels_last': True})):
            res['gpu'][f'full/{label}'] = measure(TRAIN_PRESETS['full'], a.gpu_steps, 'cuda', **kw)
            print('gpu', label, res['gpu'][f'full/{label}'], flush=True)
    save_json(a.out, res)   # atomic: write, then rename
