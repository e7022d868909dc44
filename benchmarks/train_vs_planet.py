"""Time per image of `transfer-nb train` against `transfer-nb planet` on the same Planet-format sample.

Both run the one recipe (`run_recipe`, notebook 11); `train` reads the CSV through its layout detection
(`--csv train_v2.csv --folder train-jpg --suffix .jpg --aug top_down`), `planet` through `planet_data`. The runs
alternate in one process (these machines are noisy) and the script prints each one's seconds per training image and
the ratio of the medians, train / planet.

    python benchmarks/train_vs_planet.py [--n 200] [--size 128] [--sizes 64] [--reps 3]
"""
import argparse, contextlib, io, statistics, sys, tempfile, time
from pathlib import Path

import matplotlib
matplotlib.use('Agg')
from transfer_nb.sample_data import make_planet_sample
from transfer_nb.run import run_planet
from transfer_nb.train import run_train


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=200, help='labelled chips in the sample')
    ap.add_argument('--size', type=int, default=128, help='side of the chips on disk')
    ap.add_argument('--sizes', default='64', help='training sizes, comma-separated')
    ap.add_argument('--reps', type=int, default=3, help='runs of each, alternating')
    a = ap.parse_args()
    sizes = tuple(int(s) for s in a.sizes.split(','))
    tmp = Path(tempfile.mkdtemp())
    planet = make_planet_sample(tmp/'planet', n_train=a.n, n_test=0, size=a.size, seed=0)
    common = dict(sizes=sizes, cycles=1, bs=32, num_workers=0, cpu=True, seed=0)
    jobs = {'planet': lambda out: run_planet(planet, out, **common),
            'train': lambda out: run_train(planet, out, csv='train_v2.csv', folder='train-jpg', suffix='.jpg', aug='top_down', **common)}
    times = {k: [] for k in jobs}
    for r in range(a.reps + 1):   # the first round warms the caches (resized copies, precomputed activations) and is dropped
        for name, job in jobs.items():
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()): res = job(tmp/f'{name}_{r}')
            if r: times[name].append((time.perf_counter() - t0) / res['settings']['n_train'])
    for name, ts in times.items():
        print(f'{name:7s} {1000 * statistics.median(ts):7.2f} ms per training image (runs: {", ".join(f"{1000 * t:.2f}" for t in ts)})')
    print(f"train / planet: {statistics.median(times['train']) / statistics.median(times['planet']):.2f}")


if __name__ == '__main__': sys.exit(main())
