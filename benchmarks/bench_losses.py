"""Benchmarks: InfoNCE against its loop version, and one training step of a DenseUNet pair.

Usage: python benchmarks/bench_losses.py [--reps 5] [--out benchmarks/results_losses.json]
Each training-step configuration runs in its own process, so its peak resident memory (ru_maxrss) is its own.
"""
import argparse, json, os, platform, resource, statistics, subprocess, sys, time
from pathlib import Path
import torch
from corepreg.core import save_json

HERE = Path(__file__).resolve().parent


def _test_helper(name:str):
    "A reference function of the test suite (the loop version of a loss), loaded from its file; the suite is not a package."
    import importlib.util
    spec = importlib.util.spec_from_file_location('test_losses', HERE.parent/'tests'/'test_losses.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return getattr(mod, name)


def median_time(f, reps):
    f()  # warm-up
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def bench_info_nce(reps):
    info_nce_loop = _test_helper('info_nce_loop')
    from corepreg.losses import info_nce
    torch.manual_seed(0)
    za, zb = torch.randn(32, 1, 128, 128), torch.randn(32, 1, 128, 128)
    rows = []
    for critic in ('mse', 'l1', 'cosine'):
        fast = median_time(lambda: info_nce(za, zb, critic), reps)
        slow = median_time(lambda: info_nce_loop(za, zb, critic, 0.5), max(1, reps // 2))
        rows.append({'critic': critic, 'N': 32, 'shape': '1x128x128', 'vectorised_s': fast, 'loop_s': slow, 'speed-up': slow / fast})
    return rows


def train_step(preset, batch, reps, channels_last=False):
    "Run in a child process: median step time and peak RSS of a pair's forward + backward + SGD step."
    from corepreg.models import DenseUNet, MODEL_PRESETS
    from corepreg.losses import LossConfig, comir_loss
    torch.manual_seed(0)
    na, nb = DenseUNet(MODEL_PRESETS[preset]), DenseUNet(MODEL_PRESETS[preset])
    if channels_last: na, nb = na.to(memory_format=torch.channels_last), nb.to(memory_format=torch.channels_last)
    opts = [torch.optim.SGD(n.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-5) for n in (na, nb)]
    xa, xb = torch.rand(batch, 1, 128, 128), torch.rand(batch, 1, 128, 128)
    def step():
        loss, _ = comir_loss(na, nb, xa, xb, LossConfig())
        for o in opts: o.zero_grad()
        loss.backward()
        for o in opts: o.step()
    t = median_time(step, reps)
    return {'preset': preset, 'batch': batch, 'channels_last': channels_last, 'step_s': t,
            'peak_rss_MiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--out', default=str(HERE/'results_losses.json'))
    ap.add_argument('--child', nargs=3, metavar=('PRESET', 'BATCH', 'CHANNELS_LAST'))
    a = ap.parse_args()
    if a.child:
        print(json.dumps(train_step(a.child[0], int(a.child[1]), a.reps, a.child[2] == '1'))); sys.exit()
    torch.set_num_threads(os.cpu_count())
    res = {'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}", 'reps': a.reps,
           'info_nce': bench_info_nce(a.reps), 'train_step': []}
    for preset, batch, cl in [('small', 8, 0), ('small', 32, 0), ('small', 32, 1), ('comir', 8, 0), ('comir', 32, 0)]:
        reps = a.reps if preset == 'small' else max(2, a.reps // 2)
        out = subprocess.run([sys.executable, __file__, '--reps', str(reps), '--child', preset, str(batch), str(cl)],
                             capture_output=True, text=True, check=True).stdout
        res['train_step'].append(json.loads(out.strip().splitlines()[-1])); print(res['train_step'][-1], flush=True)
    save_json(a.out, res)   # atomic: write, then rename
    for r in res['info_nce']: print(r)
