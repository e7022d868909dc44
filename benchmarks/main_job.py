"""Where the main job's time and memory go: `transfer-nb planet` on the built-in sample, phase by phase.

Runs `run_planet` (the same function as the command) in this process, with a thread that samples the memory of
the process and its loader workers every 100 ms (PSS: resident memory, pages shared between them counted once) and a
callback that marks where each fit starts and ends. Prints one row per phase (LR finder, each fit by size and stage,
TTA and the outputs after the last fit) with its wall time and the peak memory sampled during it, then the whole
run's peak, this process's peak RSS and F2. Memory is read from /proc (Linux).

What the peak is made of, measured on a 2-core CPU machine with the CUDA build of torch 2.14: `import torch` alone is
about 0.5 GB resident (0.8 GB with the rest of the stack); the training step's saved activations add about 0.55 GB at
64 px and 1.8 GB at 128 px with bs 64 (a bare PyTorch forward/backward of the same model and batch peaks within
0.1-0.2 GB of the main job). So the peak follows `bs * sz**2` (`--bs`, `--bs-rule`, `--sizes`), not the dataset.

    python benchmarks/main_job.py                      # the default run: 400 chips, 64 and 128 px
    python benchmarks/main_job.py --workers 0 --bs 32
    python benchmarks/main_job.py --n 4000 --sizes 64,128,256 --data /tmp/planet4000 --loader-sz 256 --loader-workers 16 --json r.json

On a GPU the sampler also reads the GPU's utilisation (`torch.cuda.utilization()`: the share of the driver's last
sample period in which a kernel ran) and each phase gets its mean as `gpu_busy`. `--data DIR` writes (or reuses) the
sample there before the clock starts (without it the sample is written inside the first phase, as the command does).
`--loader-sz SZ` adds, after the run, the training loader alone at SZ px (`planet_data` from the originals, with
`--loader-workers` processes) against the same workers only decoding the JPEGs (`read_image`): if the two rates are
close, decoding is what limits the loader. `--json PATH` also writes the figures to PATH.
"""
import argparse, contextlib, io, json, os, platform, resource, statistics, tempfile, threading, time
from pathlib import Path

import pandas as pd
import torch
from transfer_nb.all import *
from transfer_nb.run import run_planet, fit_stage
from transfer_nb.lr_finder import LRFinder
from transfer_nb.planet import planet_data
from transfer_nb.sample_data.planet import make_planet_sample
from transfer_nb.images import read_image
from torch.utils.data import DataLoader, Dataset


def pss_mb(pid:int)->float:
    "Proportional set size of process `pid` in MB: its resident memory, pages shared with others counted by share (0 if gone)."
    try:
        with open(f'/proc/{pid}/smaps_rollup') as f:
            return next(int(l.split()[1]) for l in f if l.startswith('Pss:')) / 1024
    except (OSError, StopIteration): return 0.


def tree_pss_mb()->float:
    "Memory of this process and its children (loader workers), in MB; forked workers' shared pages are not counted twice."
    me = os.getpid()
    kids = []
    for task in os.listdir(f'/proc/{me}/task'):
        try: kids += [int(p) for p in Path(f'/proc/{me}/task/{task}/children').read_text().split()]
        except OSError: pass
    return pss_mb(me) + sum(pss_mb(k) for k in kids)


def gpu_busy_pct()->float|None:
    "The GPU's utilisation in percent (NVML, via `torch.cuda.utilization`), or `None` when it cannot be read."
    try: return float(torch.cuda.utilization())
    except Exception: return None


class Sampler(threading.Thread):
    "Samples `tree_pss_mb` (and, with `gpu`, `gpu_busy_pct`) every `every` seconds into `self.samples` as (time, MB, busy %)."
    def __init__(self, every=0.1, gpu=False):
        super().__init__(daemon=True); self.every, self.samples, self.stop, self.gpu = every, [], threading.Event(), gpu
    def run(self):
        while not self.stop.is_set():
            self.samples.append((time.perf_counter(), tree_pss_mb(), gpu_busy_pct() if self.gpu else None)); time.sleep(self.every)


class Marks(Callback):
    "Records (time, what) when each fit starts and ends."
    order = 60
    def __init__(self, marks): self.marks = marks
    def before_fit(self):
        l = self.learn
        what = 'LR finder' if any(isinstance(c, LRFinder) for c in l.cbs) else f'{getattr(l.data, "sz", "?")} px, {fit_stage(l)}'
        self.marks.append((time.perf_counter(), what))
    def after_fit(self): self.marks.append((time.perf_counter(), 'between fits'))


class DecodeOnly(Dataset):
    "The images of `files` decoded (`read_image`, uint8 CHW), nothing else: what the loader's workers cannot avoid doing."
    def __init__(self, files): self.files = files
    def __len__(self): return len(self.files)
    def __getitem__(self, i): return read_image(self.files[i]), 0


def loader_alone(path, sz:int, bs:int, workers:int, reps:int=2)->dict:
    "Images/s of the training loader alone at `sz` (from the 256 px originals) and of decoding only, same workers; best of `reps` after a warm-up."
    data = planet_data(path, sz, bs, efficientnet_lite0, num_workers=workers, resize_upto=0)
    dec = DataLoader(DecodeOnly(data.trn_ds.files), batch_size=bs, shuffle=True, num_workers=workers,
                     persistent_workers=workers > 0, pin_memory=data.trn_dl.pin_memory)
    def best(dl):
        secs = []
        for _ in range(reps + 1):                 # the first pass starts the workers and fills the page cache
            t, n = time.perf_counter(), 0
            for x, _ in dl: n += len(x)
            secs.append(time.perf_counter() - t)
        return n / min(secs[1:])
    pipe, decode = best(data.trn_dl), best(dec)
    return dict(sz=sz, workers=workers, bs=bs, images=len(data.trn_ds), pipeline_img_s=round(pipe, 1),
                decode_only_img_s=round(decode, 1), pipeline_over_decode=round(pipe / decode, 3))


def _sizes(s): return tuple(int(x) for x in s.split(','))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--workers', type=int, default=None); ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--n', type=int, default=400, help='labelled chips in the sample')
    ap.add_argument('--sizes', type=_sizes, default=None, help="comma-separated image sizes (default: the command's, 64,128,256 on a GPU)")
    ap.add_argument('--cycles', type=int, default=2, help='SGDR cycles per stage (default: %(default)s, as the command)')
    ap.add_argument('--cpu', action='store_true', help='train on the CPU even when a GPU is there')
    ap.add_argument('--data', type=Path, default=None, help='write (or reuse) the sample here, before the clock starts')
    ap.add_argument('--loader-sz', type=int, default=None, help='after the run, time the training loader alone at this size')
    ap.add_argument('--loader-workers', type=int, default=None, help='loader processes for --loader-sz (default: --workers, else one per CPU)')
    ap.add_argument('--json', type=Path, default=None, help='also write the figures to this JSON file')
    a = ap.parse_args()
    gpu = torch.cuda.is_available() and not a.cpu
    path = None
    if a.data:
        t = time.perf_counter()
        path = make_planet_sample(a.data, n_train=a.n, n_test=a.n // 4, seed=0)   # what `run_planet` would write
        print(f'sample: {a.n} + {a.n // 4} chips in {path} ({time.perf_counter() - t:.1f} s to write or check)')
    marks, sampler = [], Sampler(gpu=gpu)
    orig_add = Learner.__init__
    def add_marks(self, *args, **kw):             # every learner the run makes gets the callback
        orig_add(self, *args, **kw); self.add_cb(Marks(marks))
    Learner.__init__ = add_marks
    out = Path(tempfile.mkdtemp())/'out'
    t0 = time.perf_counter(); marks.append((t0, 'data, model, precompute'))
    sampler.start()
    with contextlib.redirect_stdout(io.StringIO()):   # the progress bars
        res = run_planet(path, out=out, num_workers=a.workers, bs=a.bs, n_sample=a.n, sizes=a.sizes, cpu=a.cpu, cycles=a.cycles)
    t1 = time.perf_counter(); sampler.stop.set(); sampler.join()
    marks.append((t1, 'end'))
    rows = []
    for (start, what), (end, _) in zip(marks, marks[1:]):
        if what == 'between fits' and end - start < 0.5: continue
        inside = [(mb, busy) for t, mb, busy in sampler.samples if start <= t <= end]
        peak = max((mb for mb, _ in inside), default=None)   # None: a phase shorter than the sampling interval
        row = dict(phase='TTA, thresholds, outputs' if what == 'between fits' and end == t1 else what,
                   seconds=round(end - start, 1), peak_mb=None if peak is None else round(peak))
        if gpu: row['gpu_busy'] = round(statistics.mean(b for _, b in inside if b is not None) / 100, 3) if any(b is not None for _, b in inside) else None
        rows.append(row)
    print(pd.DataFrame(rows).to_string(index=False))
    busy = [b for _, _, b in sampler.samples if b is not None]
    out_json = dict(torch=torch.__version__, python=platform.python_version(), device='cuda' if gpu else 'cpu',
                    device_name=torch.cuda.get_device_name() if gpu else platform.machine(), n=a.n, bs=a.bs, workers=a.workers, cycles=a.cycles,
                    sizes=list(a.sizes) if a.sizes else None, phases=rows, seconds=round(t1 - t0, 1), f2=res['f2_final'],
                    peak_mb=round(max(mb for _, mb, _ in sampler.samples)), gpu_busy=round(statistics.mean(busy) / 100, 3) if busy else None)
    print(f'whole run: {t1 - t0:.1f} s, peak {out_json["peak_mb"]:.0f} MB (process + workers, sampled), '
          f'peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, '
          f'F2 {res["f2_final"]:.4f}; workers {a.workers}, bs {a.bs}, torch threads {torch.get_num_threads()}'
          + (f'; GPU busy {out_json["gpu_busy"]:.0%} of the run' if busy else ''))
    if a.loader_sz:
        nw = a.loader_workers if a.loader_workers is not None else a.workers if a.workers is not None else worker_count()
        out_json['loader'] = ld = loader_alone(path or out/'planet_sample', a.loader_sz, a.bs, nw)
        print(f"loader alone at {ld['sz']} px, {nw} workers, bs {a.bs}: {ld['pipeline_img_s']:.0f} img/s; decoding only "
              f"{ld['decode_only_img_s']:.0f} img/s (pipeline / decode {ld['pipeline_over_decode']:.2f}: near 1, decoding limits it)")
    if a.json: a.json.write_text(json.dumps(out_json, indent=1, default=float))


if __name__ == '__main__': main()
