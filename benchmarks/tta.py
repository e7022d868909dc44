"""What TTA costs, against plain predictions: `learn.TTA(dihedral=True)` (8 views) and `learn.TTA(n_aug=4)` (1 + 4).

Dihedral TTA loads (decodes, resizes, normalises) each batch once and makes the 8 rotations/flips on the tensor, so it
costs 8 forward passes plus one pass of loading, not 8 of each. Random-augmentation TTA makes the plain predictions,
then reads each image once more for all its `n_aug` augmented views (the augmentations differ per view, so they are
made per image, but the file is decoded once). The script times, in one process, on the validation
chips of the synthetic Planet sample with `efficientnet_lite0`:
- `predict`: one plain pass (loading + 1 forward per batch);
- `8 x predict`: what TTA would cost if it reloaded the images per view;
- `TTA(dihedral=True)`, and `TTA(n_aug=4)` against `5 x predict`;
and prints each TTA against as many predicts as it has views (below 1: loading is shared) and against one predict.

    python benchmarks/tta.py                    # 200 chips, 64 px, bs 64
    python benchmarks/tta.py --sz 128 --n 400
"""
import argparse, tempfile, time
from pathlib import Path

import torch
from transfer_nb.all import *


def best_of(f, reps=3):
    "Shortest wall time of `reps` calls of `f` (the least disturbed by other work on the machine)."
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=200, help='labelled chips in the sample (a fifth are validation chips)')
    ap.add_argument('--sz', type=int, default=64); ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--workers', type=int, default=None)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    path = make_planet_sample(tmp/'planet', n_train=a.n, n_test=0, size=256, seed=0)
    data = planet_data(path, a.sz, a.bs, num_workers=a.workers, resize_upto=0)   # decode the 256 px originals, as at full size
    learn = ConvLearner.pretrained(efficientnet_lite0, data, metrics=[f2])
    print(f'{data}\ndevice: {learn.device}, torch threads: {torch.get_num_threads()}')
    learn.predict()                                                              # warm-up (workers, allocator)
    t1 = best_of(learn.predict)
    t8 = 8 * t1
    tt = best_of(lambda: learn.TTA(dihedral=True))
    ta = best_of(lambda: learn.TTA(n_aug=4))
    print(f'predict: {t1:.2f}s   8 x predict: {t8:.2f}s   TTA(dihedral): {tt:.2f}s   TTA(n_aug=4): {ta:.2f}s')
    print(f'TTA(dihedral) / (8 x predict) = {tt / t8:.2f}   TTA(dihedral) / predict = {tt / t1:.1f}')
    print(f'TTA(n_aug=4) / (5 x predict) = {ta / (5 * t1):.2f}   TTA(n_aug=4) / predict = {ta / t1:.1f}')


if __name__ == '__main__': main()
