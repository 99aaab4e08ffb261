"""The trainer's step on CoMIR's network against CoMIR's own training step, side by side, alternating, in one run.

`reference` is the step as CoMIR's reference training script performs it (Pielawski et al. 2020, github.com/MIDA-group/CoMIR,
`train_comir.py`, MIT licence; read, not copied: this is our own code doing the same work): float32, contiguous memory,
its memory-efficient dense layers (`"efficient": True`, i.e. each dense layer recomputed in the backward pass:
`ModelConfig(checkpoint=True)` here), random C4 turns of each sample and their inverse on the outputs, the (2N, 2N)
similarity matrix filled one critic call at a time in a Python double loop (136 calls at batch 8) and the loss one row at
a time, gradient norms clipped to 1, SGD (1e-2, momentum 0.9, weight decay 1e-5) per network. The network is ours, which
matches CoMIR's architecture (nbs/03_models.ipynb).

`corepreg` is the trainer's own `train_step` on the `full` preset (channels-last, bfloat16 autocast where
`bf16_is_fast`, the vectorised InfoNCE, glibc told to keep freed memory: `keep_freed_memory`, the two networks on two
threads at once: `PairThreads`), `corepreg-sequential` the same with the networks one after the other, each operator on
every thread (`COREPREG_PAIR_THREADS=0`, the trainer before `PairThreads`), and `corepreg-system-malloc` that with glibc's
defaults too (`COREPREG_MALLOC=system`). Between the two, `LADDER` switches CoMIR's step to ours one lever at a
time, so that each lever's effect is measured side by side (`+keep-memory`: `keep_freed_memory`); `corepreg-fp32` and `corepreg-compile` switch the trainer's
`amp` off or `compile` on (`--paths`).

Both see the same batch shape (8 single-channel 128-px patches per modality, random values: the step's time does not
depend on them). Each (path, round) runs in its own process, so its peak resident memory is its own; the paths alternate
for `--rounds` rounds; per run the first `--warm` steps are dropped; the median over all rounds' steps is quoted, and the
ratio of medians.

Usage: python benchmarks/bench_comir_reference.py [--rounds 3] [--steps 6] [--warm 2] [--paths reference,corepreg]
       [--out benchmarks/results_comir_reference.json]
       python benchmarks/bench_comir_reference.py --rounds 3 --steps 5 --warm 2 \
           --paths reference,+keep-memory,corepreg,corepreg-sequential --out benchmarks/results_comir_reference_pair.json
"""
import argparse, json, os, platform, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The ladder from CoMIR's step to ours, one lever at a time: each path adds one change to the one before it.
LADDER = {
    'reference': {},
    '+no-recompute': {'checkpoint': False},                       # dense layers kept, not recomputed in the backward pass
    '+one-matmul-loss': {'checkpoint': False, 'loop_loss': False},   # the similarity matrix as one matmul, the loss as one cross-entropy
    '+channels-last': {'checkpoint': False, 'loop_loss': False, 'channels_last': True},
    '+bfloat16': {'checkpoint': False, 'loop_loss': False, 'channels_last': True, 'bf16': True},
    '+keep-memory': {'checkpoint': False, 'loop_loss': False, 'channels_last': True, 'bf16': True, 'keep_memory': True},
}
PATHS = (*LADDER, 'corepreg', 'corepreg-sequential', 'corepreg-system-malloc', 'corepreg-fp32', 'corepreg-compile')
ENV = {'corepreg-sequential': {'COREPREG_PAIR_THREADS': '0'},                                  # before `PairThreads`
       'corepreg-system-malloc': {'COREPREG_PAIR_THREADS': '0', 'COREPREG_MALLOC': 'system'}}  # and before `keep_freed_memory`


def reference_step_fn(batch:int=8, critic:str='mse', tau:float=0.5, checkpoint:bool=True, loop_loss:bool=True,
                      channels_last:bool=False, bf16:bool=False, keep_memory:bool=False):
    """CoMIR's training step as its script does it (the defaults: float32, contiguous, recomputed dense layers, the loss in
    Python loops), or with the levers of `LADDER` switched."""
    import numpy as np, torch
    from corepreg.critics import similarity
    from corepreg.losses import info_nce, rot90_batch
    from corepreg.models import DenseUNet, ModelConfig
    if keep_memory:
        from corepreg.train import keep_freed_memory; keep_freed_memory()
    torch.manual_seed(0)
    nets = [DenseUNet(ModelConfig(checkpoint=checkpoint)).train() for _ in range(2)]
    if channels_last: nets = [n.to(memory_format=torch.channels_last) for n in nets]
    opts = [torch.optim.SGD(n.parameters(), lr=1e-2, momentum=0.9, weight_decay=1e-5) for n in nets]
    rng = np.random.default_rng(0)

    def loss_loop(la, lb):
        points, n = torch.cat([la, lb]), batch
        sims = torch.zeros(2 * n, 2 * n)
        for i in range(2 * n):
            for j in range(i + 1):
                s = similarity(points[i][None], points[j][None], critic)[0, 0] / tau
                sims[i, j] = s; sims[j, i] = s
        rows, idx = torch.empty(2 * n), np.arange(2 * n)
        for i in range(2 * n):
            rows[i] = -sims[i, (i + n) % (2 * n)] + torch.logsumexp(sims[i][torch.from_numpy(idx != i)], 0)
        return rows.mean()

    def forward(net, x):
        if channels_last: x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16): return net(x).float()

    def step(xa, xb):
        for o in opts: o.zero_grad()
        ka, kb = (torch.from_numpy(rng.integers(0, 4, batch)) for _ in range(2))
        la = rot90_batch(forward(nets[0], rot90_batch(xa, ka)), (-ka) % 4)
        lb = rot90_batch(forward(nets[1], rot90_batch(xb, kb)), (-kb) % 4)
        loss = loss_loop(la, lb) if loop_loss else info_nce(la, lb, critic, tau)
        loss.backward()
        for n in nets: torch.nn.utils.clip_grad_norm_(n.parameters(), 1.0)
        for o in opts: o.step()
        return loss.item()
    return step


def corepreg_step_fn(tmp:str, **changes):
    "The trainer's own step on the `full` preset (with `changes` to its TrainConfig)."
    import torch
    from corepreg.train import TRAIN_PRESETS, setup, train_step
    cfg = TRAIN_PRESETS['full'].replace(checkpoint_every=10**6, val_every=0, **changes)
    run = setup(cfg, tmp, device='cpu')
    cl = (lambda x: x.to(memory_format=torch.channels_last)) if cfg.channels_last else (lambda x: x)
    return lambda xa, xb: float(train_step(run, cl(xa), cl(xb))['total'])


def one_run(path:str, steps:int) -> dict:
    "Time `steps` steps of one path in this process: per-step seconds and peak resident memory."
    import torch
    changes = {'corepreg-fp32': {'amp': False}, 'corepreg-compile': {'compile': True}}   # the other trainer paths: none (ENV sets theirs)
    with tempfile.TemporaryDirectory() as tmp:
        step = reference_step_fn(**LADDER[path]) if path in LADDER else corepreg_step_fn(tmp, **changes.get(path, {}))
        g = torch.Generator().manual_seed(1)
        secs, losses = [], []
        for _ in range(steps):
            xa, xb = torch.rand(8, 1, 128, 128, generator=g), torch.rand(8, 1, 128, 128, generator=g)
            t0 = time.perf_counter(); losses.append(step(xa, xb)); secs.append(time.perf_counter() - t0)
    return {'seconds': secs, 'losses': losses, 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            'threads': torch.get_num_threads()}   # per operator: 1 where the trainer ran the networks on two threads at once


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--rounds', type=int, default=3); ap.add_argument('--steps', type=int, default=6)
    ap.add_argument('--warm', type=int, default=2)
    ap.add_argument('--paths', default=','.join([*LADDER, 'corepreg', 'corepreg-sequential', 'corepreg-system-malloc']))
    ap.add_argument('--out', default=str(HERE/'results_comir_reference.json'))
    ap.add_argument('--one', choices=PATHS, help=argparse.SUPPRESS)   # internal: one run of one path, JSON on stdout
    a = ap.parse_args(argv)
    if a.one: print(json.dumps(one_run(a.one, a.steps))); return
    paths = a.paths.split(',')
    if bad := [p for p in paths if p not in PATHS]: ap.error(f"unknown path(s) {bad}; valid: {list(PATHS)}")
    got = {p: {'seconds': [], 'round_medians': [], 'peak_rss_mb': 0.0} for p in paths}
    for r in range(a.rounds):
        for p in paths:
            run = subprocess.run([sys.executable, __file__, '--one', p, '--steps', str(a.steps)], capture_output=True, text=True,
                                 env={**os.environ, **ENV.get(p, {})})
            if run.returncode: sys.exit(f"path {p} failed:\n{run.stderr[-3000:]}")
            res = json.loads(run.stdout.strip().splitlines()[-1])
            kept = res['seconds'][a.warm:]
            got[p]['seconds'] += kept; got[p]['round_medians'].append(statistics.median(kept))
            got[p]['peak_rss_mb'] = max(got[p]['peak_rss_mb'], res['peak_rss_mb']); got[p]['threads'] = res['threads']
            print(f"round {r + 1} {p}: median {statistics.median(kept):.3f} s", flush=True)
    for p in paths: got[p]['median_step_seconds'] = statistics.median(got[p]['seconds'])
    if 'reference' in paths:
        for p in paths: got[p]['speedup_over_reference'] = got['reference']['median_step_seconds'] / got[p]['median_step_seconds']
    import torch
    from corepreg.core import save_json
    from corepreg.study import git_commit
    from corepreg.train import bf16_is_fast
    save_json(a.out, {'command': 'python benchmarks/bench_comir_reference.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
                      'commit': git_commit(), 'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                      f"bf16 fast: {bf16_is_fast(torch.device('cpu'))}", 'rounds': a.rounds, 'steps': a.steps, 'warm': a.warm,
                      'paths': got})
    for p in paths: print(p, round(got[p]['median_step_seconds'], 3), 's', {k: round(v, 2) for k, v in got[p].items() if k == 'speedup_over_reference'})


if __name__ == '__main__':
    main()
