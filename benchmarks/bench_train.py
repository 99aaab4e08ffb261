"""Benchmark of the training step: steps per second of the quick, standard and full presets, and the
full preset's step on today's default path against the baseline path and against float32 channels-last, measured side
by side in one run.

Usage: python benchmarks/bench_train.py [--quick-steps 40] [--full-steps 6] [--rounds 3] [--out benchmarks/results_train.json]

The seconds of each step come from the trainer's own log.jsonl (the step itself: forward, loss, backward and
optimiser; patch sampling is not in it); the first two steps of every run are dropped (warm-up) and the median of
the rest is reported. For the comparison, the baseline and the fast path alternate (`--rounds` times each) so that
both see the same machine load; the speed-up is the ratio of their medians over all rounds.

The baseline path is the trainer as it was at first: float32, contiguous (NCHW) memory, `channels_last=False`,
`amp=False` (gradient checkpointing was never on by default: `ModelConfig.checkpoint=False`). `fp32_cl` is float32 with
channels-last memory; `default` is the preset as it stands, channels-last plus `amp=None`, which is bfloat16 autocast
where `bf16_is_fast` says so (a GPU, or a CPU with AMX tiles or AVX512-BF16) and float32 elsewhere (the file records
which it was, and the CPU's bfloat16 flags);
`compiled` is the default plus `compile=True` (torch.compile; its compiling steps fall among the dropped warm-up steps).
"""
import argparse, os, platform, statistics, tempfile, time
from pathlib import Path
import torch
from corepreg.core import save_json
from corepreg.study import git_commit
from corepreg.train import TRAIN_PRESETS, bf16_is_fast, cpu_flags, read_log, train

HERE = Path(__file__).resolve().parent
BASELINE = dict(channels_last=False, amp=False)
PATHS = (('baseline', BASELINE), ('fp32_cl', dict(channels_last=True, amp=False)), ('default', {}))
COMPILED = ('compiled', dict(compile=True))   # the default plus torch.compile (opt-in: its first step compiles for a minute or more)


def step_seconds(cfg, steps, device, **kw):
    "Per-step seconds (warm-up dropped), wall seconds, on a GPU peak memory, and whether it ran in bfloat16, of one short training run."
    with tempfile.TemporaryDirectory() as d:
        if device.startswith('cuda'): torch.cuda.reset_peak_memory_stats()
        t0 = time.time()
        bf16 = train(cfg.replace(steps=steps, checkpoint_every=steps, val_every=0, **kw), d, device=device, progress=False)['amp']
        wall = time.time() - t0
        secs = [r['seconds'] for r in read_log(d)][2:]
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith('cuda') else None
    return secs, wall, peak, bf16


def measure(cfg, steps, device, **kw):
    secs, wall, peak, _ = step_seconds(cfg, steps, device, **kw)
    med = statistics.median(secs)
    out = {'steps': steps, 'median_step_seconds': med, 'steps_per_second': 1 / med, 'wall_seconds': wall,
           'batch': cfg.optim.batch, 'patch': cfg.data.patch, 'model': cfg.model.to_dict(), 'channels_last': kw.get('channels_last', cfg.channels_last), **kw}
    if peak is not None: out['peak_gpu_memory_gib'] = peak
    return out


def compare(cfg, steps, rounds, device, paths=PATHS):
    "The paths of `cfg`, alternating, `rounds` runs each: their medians, and each one's speed-up over the baseline."
    got, bf16 = {label: [] for label, _ in paths}, {}
    for _ in range(rounds):
        for label, kw in paths:
            secs, _, _, bf16[label] = step_seconds(cfg, steps, device, **kw)
            got[label] += secs
            print(label, round(statistics.median(got[label]), 3), flush=True)
    med = {k: statistics.median(v) for k, v in got.items()}
    out = {'rounds': rounds, 'steps_per_run': steps}
    for label, kw in paths:
        c = cfg.replace(**kw)
        out[label] = {'median_step_seconds': med[label], 'steps_timed': len(got[label]), 'channels_last': c.channels_last,
                      'amp': c.amp, 'bf16': bf16[label],
                      'speedup': med['baseline'] / med[label]}
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick-steps', type=int, default=40)
    ap.add_argument('--full-steps', type=int, default=6)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--gpu-steps', type=int, default=60)
    ap.add_argument('--out', default=str(HERE/'results_train.json'))
    a = ap.parse_args()
    res = {'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}",
           'commit': git_commit(), 'cpu_bf16_flags': sorted(f for f in cpu_flags() if 'bf16' in f or 'amx' in f),
           'cpu_bf16_is_fast': bf16_is_fast('cpu'), 'cpu': {}, 'gpu': {}}
    res['cpu']['full_vs_baseline'] = compare(TRAIN_PRESETS['full'], a.full_steps, a.rounds, 'cpu', PATHS + (COMPILED,))
    print('cpu full vs baseline', res['cpu']['full_vs_baseline'], flush=True)
    res['cpu']['quick_vs_baseline'] = compare(TRAIN_PRESETS['quick'], a.quick_steps, a.rounds, 'cpu', PATHS[::2])
    print('cpu quick vs baseline', res['cpu']['quick_vs_baseline'], flush=True)
    for name, steps in (('quick', a.quick_steps), ('standard', a.quick_steps)):
        res['cpu'][name] = measure(TRAIN_PRESETS[name], steps, 'cpu')
        print('cpu', name, res['cpu'][name], flush=True)
    if torch.cuda.is_available():
        res['gpu_name'] = torch.cuda.get_device_name()
        for label, kw in (('fp32', {'channels_last': False, 'amp': False}), ('fp32+channels_last', {'amp': False}), ('bf16+channels_last', {'amp': True})):
            res['gpu'][f'full/{label}'] = measure(TRAIN_PRESETS['full'], a.gpu_steps, 'cuda', **kw)
            print('gpu', label, res['gpu'][f'full/{label}'], flush=True)
        res['gpu']['standard'] = measure(TRAIN_PRESETS['standard'], a.gpu_steps, 'cuda')
    save_json(a.out, res)   # atomic: write, then rename
