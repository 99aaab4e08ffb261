"""Where the training step of CoMIR's network spends its time: the top operators by self time (torch.profiler).

The `full` preset's step (CoMIR's FC-DenseNet per modality, batch 8, 128 px, MSE critic, C4 turns) on the trainer's
default path (channels-last, bfloat16 autocast where `bf16_is_fast`), on synthetic pairs: `--warm` steps first, then
`--steps` profiled. Writes the table and the top operators to `--out` (JSON) so that a faster step can show its profile
beside this one.

The profiler records the operators of the thread that calls them: run with `COREPREG_PAIR_THREADS=0` (the networks one
after the other on this thread, every operator on all threads) for the operator table; with `PairThreads` the networks'
operators run on two worker threads and the table holds only the loss and the optimiser.

Usage: COREPREG_PAIR_THREADS=0 python benchmarks/bench_profile_step.py [--steps 3] [--warm 3] [--out benchmarks/results_profile_step.json] [--amp on|off]
"""
import argparse, os, platform, tempfile, time
from pathlib import Path
import torch
from corepreg.core import save_json
from corepreg.study import git_commit
from corepreg.train import TRAIN_PRESETS, _loader, bf16_is_fast, setup, train_step

HERE = Path(__file__).resolve().parent

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=3); ap.add_argument('--warm', type=int, default=3)
    ap.add_argument('--amp', choices=('on', 'off', 'auto'), default='auto')
    ap.add_argument('--out', default=str(HERE/'results_profile_step.json'))
    a = ap.parse_args()
    cfg = TRAIN_PRESETS['full']
    cfg = cfg.replace(steps=a.warm + a.steps, checkpoint_every=10**6, val_every=0, amp={'on': True, 'off': False, 'auto': None}[a.amp])
    with tempfile.TemporaryDirectory() as d:
        run = setup(cfg, d, device='cpu')
        batches = iter(_loader(run, a.warm + a.steps))
        step = lambda: train_step(run, *[x.to(memory_format=torch.channels_last) if cfg.channels_last else x for x in next(batches)])
        secs = []
        for _ in range(a.warm): t0 = time.perf_counter(); step(); secs.append(time.perf_counter() - t0)
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(a.steps): t0 = time.perf_counter(); step(); secs.append(time.perf_counter() - t0)
    ka = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in ka)
    top = [{'op': e.key, 'self_ms_per_step': e.self_cpu_time_total / 1e3 / a.steps, 'share': e.self_cpu_time_total / total,
            'calls_per_step': e.count / a.steps} for e in ka[:20]]
    for t in top: print(f"{t['op'][:48]:48s} {t['self_ms_per_step']:9.1f} ms {t['share']:6.1%} {t['calls_per_step']:7.0f} calls")
    print('step seconds (warm, then profiled):', [round(s, 2) for s in secs])
    save_json(a.out, {'command': 'python benchmarks/bench_profile_step.py ' + ' '.join(f'--{k} {v}' for k, v in vars(a).items() if k != 'out'),
                      'commit': git_commit(), 'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                      f"{torch.get_num_threads()} threads, bf16 fast: {bf16_is_fast(torch.device('cpu'))}",
                      'step_seconds': secs, 'top_self_time': top})
