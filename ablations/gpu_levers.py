"""One GPU lease: with CoMIR's network, do more negatives or more context raise the held-out r?

On the CPU these two levers cost four times the compute of a step, so they were tried only with the small networks
(RESULTS.md: "Does a larger batch help at the same compute? No", "... or 256-px patches: held-out r stays at 0.49-0.57").
On the H200 a step of CoMIR's network at batch 8 takes 0.06-0.09 s (`results_train_gpu.json`), far from what its
arithmetic needs, so four times the pixels of a step should cost little there; the logs of this script measure it
(`median_step_seconds` per arm). Each arm is the study's plain cell of a fold, exactly as

    corepreg study --data folder --a ../shared/data/uwloci-shg-he/Input/SHG_512_not_adjusted --b runs/uwloci-he-rgb
        --colour-b --preset standard --model comir --supervision none --critics mse --seeds 1 --folds 1,2 --steps 2250

gives it to `train()` (`gpu_cells.cell_config`: the config of `results/uwloci-comir-gpu`, whose cells are the reference),
with one change:
- `b32`: 32 patches a step instead of 8 (eight neighbourhoods of four: 31 negatives a positive instead of 7);
- `p256`: 256-px training patches instead of 128 (the evaluation's patch size; the bottleneck 4x4 instead of 2x2);
- `b32p256`: both (16x the pixels of a step).

All arms train at once, one process each, on the one GPU. Every 2 s the script counts each arm's steps in its
`log.jsonl` and projects its end from the last ~30 s; while the slowest would end after `--deadline`, it stops the arm of
lowest priority (the order of ARMS, last first; at most one every 30 s), so that the others finish their whole schedule. Then, on the GPU, each finished arm's held-out cross-modal r is
measured as the study's `comir_r` (the 120 evaluation pairs of its fold). Its networks come back as `<arm>.tgz` (config,
log, and a checkpoint holding the models only: the optimiser state is left out so that the runs fit the transfer; it
loads with `load_run` / `Representer`, and cannot be resumed). Registration (`ssd` needs SimpleITK, which the GPU
machine lacks) runs back here: unpack into `<study>/runs/` beside a copy of `results/uwloci-comir-gpu/grid.json`, then
`python ablations/tta.py <study>/runs/<arm> --arms plain --methods ssd fftmi sift`.

Usage (on the GPU machine, from the repository root; paste the full hash of the clean commit that travels):
    python ablations/gpu_levers.py --shg .devdata/SHG_512_not_adjusted --rgb runs/uwloci-he-rgb --commit <hash> --deadline 450
`--dry-run` does all of it on the CPU with a few steps of the `tiny` network (to check the script before a lease).
"""
import argparse, functools, os, platform, statistics, subprocess, sys, tarfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
from gpu_cells import STUDY_ARGS, cell_config, child_env, lease_parser, stage

STEPS = 2250      # the reference cells' schedule (results/uwloci-comir-gpu)
LEVERS = {'b32': {'batch': 32}, 'p256': {'patch': 256}, 'b32p256': {'batch': 32, 'patch': 256}}
ARMS = [('b32', 1), ('p256', 1), ('b32', 2), ('p256', 2), ('b32p256', 1)]     # by priority: the last is stopped first


def arm_config(lever:str, fold:int, steps:int, dry:bool=False):
    "The fold's plain study cell with `lever` applied."
    _, cfg = cell_config(steps, fold)
    kw = LEVERS[lever]
    if dry: cfg = cfg.replace(model='tiny', checkpoint_every=2, val_every=2)
    return cfg.replace(data=cfg.data.replace(patch=kw.get('patch', cfg.data.patch)),
                       optim=cfg.optim.replace(batch=kw.get('batch', cfg.optim.batch)))


def arm_name(lever:str, fold:int) -> str: return f'f{fold}-{lever}'


def train_arm(lever:str, fold:int, steps:int, runs:Path, device:str, dry:bool):
    "The child process: train one arm into `runs/<arm>`."
    from corepreg.train import train
    s = train(arm_config(lever, fold, steps, dry), runs/arm_name(lever, fold), device=device, progress=False, num_workers=2)
    print(f'{arm_name(lever, fold)}: {s["step"]} steps in {s["seconds"]:.0f} s, loss {s["loss"]:.4f}', flush=True)


def steps_done(run_dir:Path) -> int:
    "Lines of the run's log (one a step), counted without parsing: the child may be writing."
    try: return sum(1 for _ in open(run_dir/'log.jsonl'))
    except FileNotFoundError: return 0


def supervise(kids:dict, runs:Path, steps:int, t0:float, deadline:float, grace:float=60) -> dict:
    "Wait for the children; stop the lowest-priority one while the projected end of the slowest lies past the deadline."
    seen, stopped, last_cut = {}, {}, 0.0
    while any(k.poll() is None for k in kids.values()):
        time.sleep(2)
        now = time.time()
        for name in kids: seen.setdefault(name, []).append((now, steps_done(runs/name)))
        live = [n for n, k in kids.items() if k.poll() is None]
        if now - t0 > deadline:
            for n in live: kids[n].terminate(); stopped[n] = 'deadline'
            break
        if now - t0 < grace or now - last_cut < 30 or len(live) < 2: continue
        moving = {n: [p for p in seen[n] if p[1] > 0] for n in live}    # from the first step on (not the start-up)
        if any(len(p) < 5 for p in moving.values()): continue
        def end(n):
            (ta, sa), (tb, sb) = moving[n][-min(15, len(moving[n]))], moving[n][-1]    # the rate over the last ~30 s
            return now + (steps - sb) * (tb - ta) / max(sb - sa, 1e-9)
        if max(end(n) for n in live) > t0 + deadline:
            n = live[-1]; kids[n].terminate(); stopped[n] = f'projected to end at {max(end(m) for m in live) - t0:.0f} s'
            last_cut = now; print(f'stopped {n}: {stopped[n]}', flush=True)
    for k in kids.values(): k.wait()
    return stopped


def slim_pack(run_dir:Path, dest:Path) -> Path:
    "config.json, log.jsonl and a models-only checkpoint of the run, as `<arm>.tgz`."
    import io, torch
    from corepreg.train import load_checkpoint
    st = load_checkpoint(run_dir/'checkpoint.pt')
    buf = io.BytesIO(); torch.save({'config': st['config'], 'step': st['step'], 'models': st['models'], 'optimisers': {}, 'rng': {}}, buf)
    tgz = dest/f'{run_dir.name}.tgz'
    with tarfile.open(tgz, 'w:gz') as t:
        for f in ('config.json', 'log.jsonl'): t.add(run_dir/f, arcname=f'{run_dir.name}/{f}')
        info = tarfile.TarInfo(f'{run_dir.name}/checkpoint.pt'); info.size = buf.tell(); buf.seek(0); t.addfile(info, buf)
    return tgz


@functools.cache
def fold_records(fold:int) -> list:
    "The evaluation pairs of the study's `fold` (those of results/uwloci-comir-gpu), made once a fold."
    from corepreg.cli import grid_from_args, parser
    from corepreg.study import eval_set
    return eval_set(grid_from_args(parser().parse_args(STUDY_ARGS + ['--steps', str(STEPS)])), 'folder', fold)


def held_out_r(run_dir:Path, fold:int, device:str) -> dict:
    "The study's `comir_r` of the run on its fold's evaluation pairs."
    from corepreg.infer import Representer
    from corepreg.study import comir_correlation
    records = fold_records(fold)
    return {'pairs': len(records), 'comir_r': round(comir_correlation(Representer(run_dir, device=device), records), 4)}


def main():
    ap = lease_parser(450)
    ap.add_argument('--arm', nargs=2, help=argparse.SUPPRESS)       # the child process: LEVER FOLD
    ap.add_argument('--steps', type=int, default=STEPS, help=argparse.SUPPRESS)
    a = ap.parse_args()
    device = 'cpu' if a.dry_run else 'cuda'
    if a.arm: return train_arm(a.arm[0], int(a.arm[1]), a.steps, Path.cwd()/'runs/levers', device, a.dry_run)
    t0 = time.time()
    out = Path(os.environ.get('OUT', '/tmp/corepreg-out')); out.mkdir(parents=True, exist_ok=True)
    steps = 6 if a.dry_run else STEPS
    shg, rgb = Path(a.shg).resolve(), Path(a.rgb).resolve()
    main_dir = stage(shg, rgb); os.chdir(main_dir)
    runs = main_dir/'runs/levers'
    import torch
    res = {'command': 'python ablations/gpu_levers.py ' + ' '.join(sys.argv[1:]), 'commit': a.commit,
           'machine': f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
           'gpu_name': torch.cuda.get_device_name() if device == 'cuda' else None,
           'study_args': STUDY_ARGS + ['--steps', str(STEPS)], 'steps': steps, 'levers': LEVERS, 'arms': {}}
    kids = {arm_name(l, f): subprocess.Popen([sys.executable, str(HERE/'gpu_levers.py'), '--arm', l, str(f), '--steps', str(steps)]
                                             + (['--dry-run'] if a.dry_run else []), cwd=main_dir, env=child_env()) for l, f in ARMS}
    t_train = time.time()
    stopped = supervise(kids, runs, steps, t0, a.deadline, grace=5 if a.dry_run else 60)
    res['train_wall_seconds'] = round(time.time() - t_train, 1)
    from corepreg.core import save_json
    from corepreg.train import read_log
    for lever, fold in ARMS:
        name = arm_name(lever, fold); run_dir = runs/name; log = read_log(run_dir)
        rec = res['arms'][name] = {'lever': lever, 'fold': fold, 'returncode': kids[name].returncode, 'stopped': stopped.get(name),
                                   'last_step_logged': log[-1]['step'] if log else 0,
                                   'median_step_seconds': statistics.median(r['seconds'] for r in log) if log else None,
                                   'val': [{k: r[k] for k in ('step', 'val_r', 'val_top1')} for r in log if 'val_r' in r]}
        if rec['last_step_logged'] == steps and kids[name].returncode == 0:
            rec.update(held_out_r(run_dir, fold, device)); rec['packed'] = slim_pack(run_dir, out).name
        print(name, {k: v for k, v in rec.items() if k != 'val'}, rec['val'][-1:] if rec['val'] else '', flush=True)
        save_json(out/'results_gpu_levers.json', res)
    res['wall_seconds'] = round(time.time() - t0, 1)
    save_json(out/'results_gpu_levers.json', res)


if __name__ == '__main__':
    main()
