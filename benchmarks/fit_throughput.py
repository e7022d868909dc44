"""Images per second of `learn.fit` against a hand-written PyTorch loop on the same model, batches and precision.

The lesson's unfrozen stage on the synthetic Planet sample: `planet_data(path, sz, bs, efficientnet_lite0,
resize_upto=0)` (the 256 px originals, top-down augmentation), `ConvLearner.pretrained(efficientnet_lite0, data,
metrics=[])`, `unfreeze()`, and one epoch at the differential rates `slice(lr/9, lr)` (SGD, momentum 0.9, a fresh
optimizer each fit). `learn.fit(lrs, 1)` runs with its default callbacks and no metrics: it trains over `data.trn_dl`
and then computes the validation loss over `data.val_dl`. The hand loop does the same epoch, written as a PyTorch user
would: the same `DataLoader` objects, a copy of the model, a new SGD with one param group per layer group and the same
rates, `.to(dev, non_blocking=True)`, `torch.autocast(dtype=learn.amp_dtype)` and channels-last exactly when the
learner uses them (CUDA: bf16, or fp16 with a `GradScaler`; CPU: float32), `zero_grad`, and `loss.item()` summed for
the mean training and validation loss (what fit reports). Both models get the same starting weights before every
run. Throughput counts training + validation images over the wall time of the whole epoch (CUDA synchronised).

Second, the data pipeline alone: one pass over `data.trn_dl` (no model) against the plain torchvision pipeline of
`data_loading.py` (`decode_jpeg`, `RandomResizedCrop`, flip, normalise) over the same files, in a plain `DataLoader`
with the same batch size, workers, shuffling and memory pinning. The lesson's augmentation does more per image (a
random zoom, rotation, lighting and dihedral turn, in one warp) than the baseline's crop and flip. The last line says
how much of the pipeline's rate the fit uses (near 1: the fit waits for data, and a faster model step would not show).

Runs are timed alternately in one process (A, B, B, A, ...) after one warm-up each, `--reps` times each; the script
prints medians, minima (on a busy machine the better estimate: noise only adds time) and fit/hand ratios of images/s.
The project's goal is fit >= 0.95 of the hand loop.

    .venv/bin/python benchmarks/fit_throughput.py                 # CPU: 320 chips (256 train + 64 valid), 64 px, bs 32
    python benchmarks/fit_throughput.py --device cuda             # GPU: 4000 chips, 256 px, bs 64, 8 workers at most
    python benchmarks/fit_throughput.py --data /tmp/planet4000    # reuse (or keep) a sample folder
    python benchmarks/fit_throughput.py --device cuda --compile --no-pipeline --json r.json   # both through torch.compile

With `--compile` the training batches of both run through `torch.compile`: fit with the `TorchCompile` callback, the
hand loop with a compiled copy of its model (validation runs the plain model in both, as `TorchCompile` does); the
warm-up run's extra seconds over the median run are the compile time. `--json PATH` also writes the figures to PATH.

The CPU defaults take about 40 s on 2 cores; `--threads N` sets torch's intra-op threads there.
"""
import argparse, contextlib, copy, importlib.util, io, json, platform, shutil, statistics, sys, tempfile, time
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from transfer_nb.all import *
from transfer_nb.planet import planet_data
from transfer_nb.sample_data.planet import make_planet_sample

# `TorchvisionBaseline` and `one_pass` come from the data-loading benchmark next to this file
_spec = importlib.util.spec_from_file_location('data_loading', Path(__file__).with_name('data_loading.py'))
data_loading = sys.modules['data_loading'] = importlib.util.module_from_spec(_spec)  # registered: workers can unpickle it
_spec.loader.exec_module(data_loading)


def hand_epoch(model, groups, lrs, loss_func, trn_dl, val_dl, dev, amp_dtype, scaler, train_model=None):
    "One epoch by hand: train on `trn_dl` with a new SGD over `groups` (through `train_model`, e.g. a compiled `model`, if given), then the mean loss on `val_dl`."
    opt = torch.optim.SGD([{'params': ps, 'lr': lr} for ps, lr in zip(groups, lrs)], lr=lrs[-1], momentum=0.9)
    amp = (lambda: torch.autocast(dev.type, dtype=amp_dtype)) if amp_dtype is not None else contextlib.nullcontext
    def batch(xb, yb, m=model):
        xb, yb = xb.to(dev, non_blocking=True), yb.to(dev, non_blocking=True)
        if amp_dtype is not None: xb = xb.contiguous(memory_format=torch.channels_last)
        with amp(): return loss_func(m(xb), yb)       # forward and loss under autocast, backward outside
    model.train()
    tot, n = 0., 0
    for xb, yb in trn_dl:
        loss = batch(xb, yb, train_model or model)
        scaler.scale(loss).backward()                 # the scaler is a no-op unless fp16
        scaler.step(opt); scaler.update()
        opt.zero_grad()
        tot += loss.item() * len(yb); n += len(yb)
    model.eval()
    vtot, vn = 0., 0
    with torch.no_grad():
        for xb, yb in val_dl: vtot += batch(xb, yb).item() * len(yb); vn += len(yb)
    return tot / n, vtot / vn


def alternate(runs:dict, reps:int, dev, warm:dict|None=None)->dict:
    "Seconds of each `(prepare, run)` in `runs`: one warm-up each (its seconds into `warm`), then `reps` each, order reversed every other round."
    def timed(prep, f):
        prep()                                        # untimed: e.g. reset the weights
        if dev.type == 'cuda': torch.cuda.synchronize()
        t = time.perf_counter(); f()
        if dev.type == 'cuda': torch.cuda.synchronize()
        return time.perf_counter() - t
    for k, (prep, f) in runs.items():                 # warm-up: allocator, kernels, loader workers, page cache, compiling
        t = timed(prep, f)
        if warm is not None: warm[k] = t
    ts = {k: [] for k in runs}
    for i in range(reps):                             # drifts in machine speed hit both alike
        for k in list(runs)[::1 if i % 2 == 0 else -1]: ts[k].append(timed(*runs[k]))
    return ts


def report(ts:dict, n_img:int, ours:str, theirs:str, res:dict|None=None):
    "Print images/s (median, best) of each and the ratio `ours / theirs`; return the median rates (all figures into `res`)."
    rate = {k: (n_img / statistics.median(t), n_img / min(t)) for k, t in ts.items()}
    for k, (med, best) in rate.items():
        print(f'  {k:<22} median {med:8.1f} img/s, best {best:8.1f}  (s per pass: {" ".join(f"{t:.2f}" for t in ts[k])})')
    (m1, b1), (m2, b2) = rate[ours], rate[theirs]
    print(f'  {ours} / {theirs}: {m1/m2:.3f} (medians), {b1/b2:.3f} (best runs)')
    if res is not None:
        res.update({k: dict(median_img_s=round(med, 1), best_img_s=round(best, 1), seconds=[round(t, 3) for t in ts[k]])
                    for k, (med, best) in rate.items()}, ratio_median=round(m1 / m2, 4), ratio_best=round(b1 / b2, 4))
    return m1, m2


def cpu_name()->str:
    "The CPU's model name (Linux), else the machine type."
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or platform.machine()


def compile_kw(a)->dict:
    "The keyword arguments of `torch.compile` that the options ask for."
    return {} if a.compile_backend is None else dict(backend=a.compile_backend)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', choices=['cpu', 'cuda'], default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--sz', type=int, default=None, help='image side (default 64 on CPU, 256 on CUDA)')
    p.add_argument('--bs', type=int, default=None, help='batch size (default 32 on CPU, 64 on CUDA)')
    p.add_argument('--n', type=int, default=None, help='labelled chips, 20%% validation (default 320 on CPU, 4000 on CUDA)')
    p.add_argument('--workers', type=int, default=None, help="loader processes (default: the library's)")
    p.add_argument('--reps', type=int, default=5, help='timed runs of each, after one warm-up')
    p.add_argument('--lr', type=float, default=1e-2, help='the head rate; the groups get slice(lr/9, lr)')
    p.add_argument('--data', type=Path, default=None, help='sample folder to reuse or create (default: a temporary one)')
    p.add_argument('--threads', type=int, default=None, help="torch intra-op threads on CPU (default: torch's choice)")
    p.add_argument('--compile', action='store_true', help='train both through torch.compile (fit: the TorchCompile callback)')
    p.add_argument('--compile-backend', default=None, help="torch.compile's backend with --compile (default: inductor; 'eager' only traces)")
    p.add_argument('--no-pipeline', dest='pipeline', action='store_false', help='skip the data-pipeline-alone comparison')
    p.add_argument('--json', type=Path, default=None, help='also write the figures to this JSON file')
    a = p.parse_args()
    cuda = a.device == 'cuda'
    sz, bs, n = a.sz or (256 if cuda else 64), a.bs or (64 if cuda else 32), a.n or (4000 if cuda else 320)
    if a.threads and not cuda: torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    set_seed(0)
    tmp = None if a.data else Path(tempfile.mkdtemp())
    try:
        t0 = time.perf_counter()
        path = make_planet_sample(a.data or tmp/'planet', n_train=n, n_test=0, seed=0)
        print(f'sample: {n} chips of 256 px in {path} ({time.perf_counter() - t0:.0f} s to write or check)')
        data = planet_data(path, sz, bs, efficientnet_lite0, num_workers=a.workers, resize_upto=0)
        learn = ConvLearner.pretrained(efficientnet_lite0, data, metrics=[], device=dev)
        learn.unfreeze()
        if a.compile: learn.add_cb(TorchCompile(**compile_kw(a)))
        res = run(a, dev, data, learn)
        if a.json: a.json.write_text(json.dumps(res, indent=1))
    finally:
        if tmp is not None: shutil.rmtree(tmp, ignore_errors=True)


def run(a, dev, data, learn):
    "Print the environment, then time fit against the hand loop, and `data.trn_dl` against the torchvision baseline; return the figures."
    amp = learn.amp_dtype
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else cpu_name()
    prec = f'{str(amp).replace("torch.", "")} autocast + channels_last' if amp is not None else 'float32'
    print(f'env: torch {torch.__version__}, python {platform.python_version()}, {dev.type} ({name}), '
          f'{torch.get_num_threads()} threads, {prec}, {data.num_workers} loader workers, '
          f'pin_memory={data.trn_dl.pin_memory}')
    res = dict(torch=torch.__version__, python=platform.python_version(), device=dev.type, device_name=name,
               threads=torch.get_num_threads(), precision=prec, workers=data.num_workers, sz=data.sz, bs=data.bs,
               reps=a.reps, compile=a.compile, compile_backend=a.compile_backend if a.compile else None)

    # the same starting weights, optimizer groups and rates for both
    init = copy.deepcopy(learn.model.state_dict())
    hand = copy.deepcopy(learn.model)
    if amp is not None: hand.to(memory_format=torch.channels_last)   # what MixedPrecision does to learn.model
    hand_params = dict(hand.named_parameters())
    name_of = {id(p): k for k, p in learn.model.named_parameters()}
    groups = [[hand_params[name_of[id(p)]] for p in g.parameters()] for g in learn.layer_groups]
    lrs = learn.lr_range(slice(a.lr / 9, a.lr))
    scaler = torch.amp.GradScaler(dev.type, enabled=amp == torch.float16)
    table = io.StringIO()   # fit prints a progress bar and its epoch table: keep them out of the report

    def fit():
        with contextlib.redirect_stdout(table): learn.fit(lrs, 1)
    hand_train = torch.compile(hand, **compile_kw(a)) if a.compile else None   # the training batches only, as TorchCompile does
    def hand_loop(): hand_losses[:] = hand_epoch(hand, groups, lrs, learn.loss_func, data.trn_dl, data.val_dl, dev, amp, scaler, hand_train)
    hand_losses = []
    n_trn = len(data.trn_dl) * data.bs if data.trn_dl.drop_last else len(data.trn_ds)
    n_img = n_trn + len(data.val_ds)
    print(f'== training, one epoch = {n_trn} train + {len(data.val_ds)} valid images of {data.sz} px, bs {data.bs}, '
          f'{len(learn.layer_groups)} layer groups at lrs {[float(f"{x:.3g}") for x in lrs]}, {a.reps} alternating runs each')
    warm, res['training'] = {}, dict(train_images=n_trn, valid_images=len(data.val_ds))
    ts = alternate({'learn.fit': (lambda: learn.model.load_state_dict(init), fit),
                    'hand-written loop': (lambda: hand.load_state_dict(init), hand_loop)}, a.reps, dev, warm)
    fit_rate, hand_rate = report(ts, n_img, 'learn.fit', 'hand-written loop', res['training'])
    res['goal_met'] = fit_rate / hand_rate >= 0.95
    print(f'  goal fit >= 0.95 of the hand loop: {"met" if res["goal_met"] else "NOT met"} (medians)')
    res['warmup_seconds'] = {k: round(t, 2) for k, t in warm.items()}
    res['warmup_extra_seconds'] = {k: round(t - statistics.median(ts[k]), 2) for k, t in warm.items()}
    print('  warm-up run minus the median run (compiling, cudnn autotuning, workers starting): ' +
          ', '.join(f'{k} {v:.1f} s' for k, v in res['warmup_extra_seconds'].items()))
    if a.compile:
        res['compile_first_batch_seconds'] = [round(t, 2) for c in learn.cbs if isinstance(c, TorchCompile) for t in c.compile_times]
        print(f"  TorchCompile's first training batch of each fit: {res['compile_first_batch_seconds']} s")
    s = learn.sched   # a sanity check that both train the same thing: losses of the last run (different shuffles)
    print(f'  last run\'s mean train / valid loss: fit {s.trn_mean_losses[-1]:.4f} / {s.val_losses[-1]:.4f}, '
          f'hand {hand_losses[0]:.4f} / {hand_losses[1]:.4f}')
    res['last_losses'] = dict(fit=[float(s.trn_mean_losses[-1]), float(s.val_losses[-1])], hand=[float(x) for x in hand_losses])
    if not a.pipeline: return res

    # the data pipeline alone: the library's training loader against plain torchvision over the same files
    nw = data.num_workers
    base = DataLoader(data_loading.TorchvisionBaseline(data.trn_ds.files, data.sz), batch_size=data.bs, shuffle=True,
                      drop_last=data.trn_dl.drop_last, num_workers=nw, pin_memory=dev.type == 'cuda', persistent_workers=nw > 0)
    print(f'== data pipeline alone: {n_trn} training images, 256 px JPEG -> {data.sz} px, bs {data.bs}, '
          f'{nw} workers, {a.reps} alternating passes each')
    ts = alternate({'data.trn_dl': (lambda: None, lambda: data_loading.one_pass(data.trn_dl)),
                    'torchvision baseline': (lambda: None, lambda: data_loading.one_pass(base))}, a.reps, dev)
    res['pipeline'] = {}
    pipe_rate, _ = report(ts, n_trn, 'data.trn_dl', 'torchvision baseline', res['pipeline'])
    res['fit_share_of_pipeline_rate'] = round(fit_rate * n_trn / n_img / pipe_rate, 4)
    print(f'  the fit trains at {res["fit_share_of_pipeline_rate"]:.2f} of the pipeline\'s rate '
          f'(training images; medians): near 1 means it waits for data')
    return res


if __name__ == '__main__': main()
