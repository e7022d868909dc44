"""What importing transfer_nb costs, against importing PyTorch and torchvision's transforms alone.

Each import runs in a fresh interpreter (so nothing is cached in the process), the commands alternating, `--reps`
times each; the table gives the median wall time of each and its ratio to the baseline's median:
- baseline: `import torch, torchvision.transforms.v2` (torchvision's package import already brings in its models
  and `torch._dynamo`: every torchvision user pays it);
- the library: every module of `transfer_nb` (what a script that trains needs);
- `transfer_nb.all`: the library plus the lesson's everyday names (`plt`, `metrics`, `widgets`, ...: what fastai 0.7's
  `from fastai.conv_learner import *` brought into a notebook);
- the command line's `--help` (imports nothing heavy).

    python benchmarks/import_time.py --reps 5
"""
import argparse, statistics, subprocess, sys, time

IMPORTS = {
    'torch + torchvision.transforms.v2 (baseline)': 'import torch, torchvision.transforms.v2',
    'every transfer_nb module': 'import pkgutil, importlib, transfer_nb; '
                                '[importlib.import_module(m.name) for m in pkgutil.walk_packages(transfer_nb.__path__, "transfer_nb.") '
                                'if m.name != "transfer_nb.all"]',
    'transfer_nb.all': 'import transfer_nb.all',
    'transfer-nb --help': 'import sys; sys.argv = ["transfer-nb", "--help"]\nfrom transfer_nb.cli import main\ntry: main()\nexcept SystemExit: pass',
}


def seconds(code:str)->float:
    "Wall time of a fresh interpreter running `code`."
    start = time.perf_counter()
    subprocess.run([sys.executable, '-c', code], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--reps', type=int, default=5)
    a = ap.parse_args()
    for code in IMPORTS.values(): seconds(code)                 # warm-up: the files into the page cache
    times = {k: [] for k in IMPORTS}
    for _ in range(a.reps):
        for k, code in IMPORTS.items(): times[k].append(seconds(code))
    base = statistics.median(times['torch + torchvision.transforms.v2 (baseline)'])
    for k, ts in times.items():
        m = statistics.median(ts)
        print(f'{k:46s} {m:6.2f} s (min {min(ts):.2f})   {m / base:5.2f}x baseline')


if __name__ == '__main__': main()
