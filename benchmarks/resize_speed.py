"""How much faster is a small-size epoch read from `data.resize` copies than from the full-size images?

Lesson 2 trains Planet at 64 px first and reads those epochs from copies down-sized once (`data.resize(int(sz * 1.3),
'tmp')`), so that the full-size JPEGs are not decoded and scaled down again at every epoch. Notebook 01f (`data`) prints one
such measurement on its tiny sample and asserts nothing about it; this script measures it on 256 px Planet-format chips
(synthetic: real chips, with more texture, may decode more slowly).

In one process, on the same images and with the same pipeline (the lesson's top-down augmentation, `max_zoom=1.05`):
- the one-off cost of writing the copies;
- one pass over the training loader (decode, augment, crop, normalise, collate; no model) from the 256 px originals
  and from the copies, timed alternately `--reps` times each after one warm-up pass each.
It prints the medians and minima (on a busy machine the minima are the better estimate: noise only adds time) and
the speed-up of the copies against the originals.

    .venv/bin/python benchmarks/resize_speed.py                    # 256 chips at 256 px, read at 64 px
    .venv/bin/python benchmarks/resize_speed.py --sz 128 --workers 2
"""
import argparse, statistics, tempfile, time
from pathlib import Path

import torch
from transfer_nb.all import *


def epoch_seconds(data)->float:
    "Seconds for one pass over `data.trn_dl`."
    start = time.perf_counter()
    for _ in data.trn_dl: pass
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=256, help='labelled chips (80% train, 20% validation)')
    p.add_argument('--size', type=int, default=256, help='side of the original chips (Planet: 256)')
    p.add_argument('--sz', type=int, default=64, help='image size the model sees')
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--reps', type=int, default=5, help='timed passes over each loader')
    p.add_argument('--workers', type=int, default=0, help='data loader processes')
    args = p.parse_args()

    set_seed(0)
    tmp = Path(tempfile.mkdtemp())
    path = make_planet_sample(tmp/'planet', n_train=args.n, n_test=0, size=args.size, seed=0)
    tfms = tfms_from_model(efficientnet_lite0, args.sz, aug_tfms=transforms_top_down, max_zoom=1.05)
    orig = ImageClassifierData.from_csv(path, 'train-jpg', path/'train_v2.csv', bs=args.bs, tfms=tfms, suffix='.jpg',
                                        num_workers=args.workers)
    targ = int(args.sz * 1.3)
    start = time.perf_counter()
    small = orig.resize(targ, 'tmp')
    t_resize = time.perf_counter() - start
    print(f'{len(orig.trn_ds)} training chips at {args.size} px, read at {args.sz} px; copies at {targ} px; '
          f'{args.workers} loader workers, torch threads: {torch.get_num_threads()}')

    for d in (orig, small): epoch_seconds(d)                 # warm-up: file cache, worker start
    times = {'originals': [], 'copies': []}
    for _ in range(args.reps):
        times['originals'].append(epoch_seconds(orig))
        times['copies'].append(epoch_seconds(small))

    print(f'\none-off resize of {len(orig.trn_ds) + len(orig.val_ds)} images: {t_resize:.2f}s')
    print(f'{"training epoch, data only":28s}{"median":>10s}{"min":>10s}{"speed-up (median)":>20s}')
    base = statistics.median(times['originals'])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f'{name:28s}{med:9.3f}s{min(ts):9.3f}s{base / med:19.1f}x')
    print(f'\nthe copies cost as much to write as {t_resize / base:.1f} epochs from the originals')


if __name__ == '__main__': main()
