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
"""
import argparse, contextlib, io, os, resource, tempfile, threading, time
from pathlib import Path

import pandas as pd
import torch
from transfer_nb.all import *
from transfer_nb.run import run_planet, fit_stage
from transfer_nb.lr_finder import LRFinder


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


class Sampler(threading.Thread):
    "Samples `tree_pss_mb` every `every` seconds into `self.samples` as (time, MB)."
    def __init__(self, every=0.1):
        super().__init__(daemon=True); self.every, self.samples, self.stop = every, [], threading.Event()
    def run(self):
        while not self.stop.is_set():
            self.samples.append((time.perf_counter(), tree_pss_mb())); time.sleep(self.every)


class Marks(Callback):
    "Records (time, what) when each fit starts and ends."
    order = 60
    def __init__(self, marks): self.marks = marks
    def before_fit(self):
        l = self.learn
        what = 'LR finder' if any(isinstance(c, LRFinder) for c in l.cbs) else f'{getattr(l.data, "sz", "?")} px, {fit_stage(l)}'
        self.marks.append((time.perf_counter(), what))
    def after_fit(self): self.marks.append((time.perf_counter(), 'between fits'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--workers', type=int, default=None); ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--n', type=int, default=400, help='labelled chips in the sample')
    a = ap.parse_args()
    marks, sampler = [], Sampler()
    orig_add = Learner.__init__
    def add_marks(self, *args, **kw):             # every learner the run makes gets the callback
        orig_add(self, *args, **kw); self.add_cb(Marks(marks))
    Learner.__init__ = add_marks
    out = Path(tempfile.mkdtemp())/'out'
    t0 = time.perf_counter(); marks.append((t0, 'data, model, precompute'))
    sampler.start()
    with contextlib.redirect_stdout(io.StringIO()):   # the progress bars
        res = run_planet(out=out, num_workers=a.workers, bs=a.bs, n_sample=a.n)
    t1 = time.perf_counter(); sampler.stop.set(); sampler.join()
    marks.append((t1, 'end'))
    rows = []
    for (start, what), (end, _) in zip(marks, marks[1:]):
        if what == 'between fits' and end - start < 0.5: continue
        peak = max((mb for t, mb in sampler.samples if start <= t <= end), default=float('nan'))
        rows.append(dict(phase='TTA, thresholds, outputs' if what == 'between fits' and end == t1 else what,
                         seconds=round(end - start, 1), peak_mb=round(peak)))
    print(pd.DataFrame(rows).to_string(index=False))
    print(f'whole run: {t1 - t0:.1f} s, peak {max(mb for _, mb in sampler.samples):.0f} MB (process + workers, sampled), '
          f'peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, '
          f'F2 {res["f2_final"]:.4f}; workers {a.workers}, bs {a.bs}, torch threads {torch.get_num_threads()}')


if __name__ == '__main__': main()
