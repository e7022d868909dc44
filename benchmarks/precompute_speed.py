"""How much faster is a head-training epoch with `precompute=True`? (The lesson says about 10x.)

Times, in one process and on the same learner, at 224 px with `efficientnet_lite0` (ImageNet weights, offline):
- the one-off cache build (train images through the validation transform, validation images);
- one epoch (training + validation) on cached activations;
- one epoch on the images, with the body frozen, as `train_bn=True` (fastai 2's and Keras's choice: the body's BatchNorm layers train,
  so backward runs through the body) and as `train_bn=False` (the lesson's library and our default: forward only through the body).
The data is the synthetic Planet sample (256 px chips, 17 labels, multi-label).

    python benchmarks/precompute_speed.py                     # 96 training + 32 validation chips, bs 32
    python benchmarks/precompute_speed.py --n-train 64 --sz 128
"""
import argparse, tempfile, time
from pathlib import Path

import numpy as np
import torch
from transfer_nb.all import *
from transfer_nb.precompute import *


class PhaseTimer(Callback):
    "Wall time of each training and validation phase."
    def __init__(self): self.trn, self.val = [], []
    def before_train(self): self.t = time.perf_counter()
    def after_train(self): self.trn.append(time.perf_counter() - self.t)
    def before_validate(self): self.t = time.perf_counter()
    def after_validate(self): self.val.append(time.perf_counter() - self.t)


def timed_fit(learn, n_epoch, lr=1e-2):
    "Median (train phase, whole epoch) seconds over `n_epoch` epochs."
    pt = PhaseTimer()
    learn.fit(lr, n_epoch, cbs=[pt])
    return float(np.median(pt.trn)), float(np.median(np.add(pt.trn, pt.val)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n-train', type=int, default=96, help='training chips')
    p.add_argument('--n-valid', type=int, default=32, help='validation chips')
    p.add_argument('--sz', type=int, default=224, help='image size the model sees')
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--epochs', type=int, default=5, help='epochs timed on cached activations (median reported)')
    p.add_argument('--workers', type=int, default=0, help='data loader processes for the image epochs')
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp())
    n = args.n_train + args.n_valid
    path = make_planet_sample(tmp/'planet', n_train=n, n_test=0, size=256, seed=0)
    tfms = tfms_from_model(efficientnet_lite0, args.sz, aug_tfms=transforms_top_down, max_zoom=1.05)
    data = ImageClassifierData.from_csv(path, 'train-jpg', path/'train_v2.csv', bs=args.bs, tfms=tfms, suffix='.jpg',
                                        val_idxs=np.arange(args.n_train, n), num_workers=args.workers)
    set_seed(0)
    learn = ConvLearner.pretrained(efficientnet_lite0, data, precompute=True, metrics=[f2])
    learn.remove_cbs([cb for cb in learn.cbs if isinstance(cb, ProgressCallback)])
    learn.precompute_dir = None  # time a real build, not a disk hit
    print(f'{data}\ndevice: {learn.device}, torch threads: {torch.get_num_threads()}')

    t0 = time.perf_counter()
    learn.activations()
    build = time.perf_counter() - t0
    pre_trn, pre_ep = timed_fit(learn, args.epochs)

    learn.precompute, learn.train_bn = False, True
    img_trn, img_ep = timed_fit(learn, 1)
    learn.train_bn = False
    nobn_trn, nobn_ep = timed_fit(learn, 1)

    rows = [('precompute=True (cached activations)', pre_trn, pre_ep),
            ('precompute=False, train_bn=True (fastai 2)', img_trn, img_ep),
            ('precompute=False, train_bn=False (lesson, default)', nobn_trn, nobn_ep)]
    print(f'\none-off cache build ({args.n_train} train + {args.n_valid} valid images at {args.sz}px): {build:.2f}s')
    print(f'{"":52s}{"train phase":>12s}{"epoch":>10s}{"epoch speed-up":>16s}')
    for name, trn, ep in rows: print(f'{name:52s}{trn:11.3f}s{ep:9.3f}s{ep / pre_ep:15.0f}x')
    print(f'\nan epoch with precompute is {img_ep / pre_ep:.0f}x faster than one on images with train_bn=True, '
          f'{nobn_ep / pre_ep:.0f}x faster than with train_bn=False;\nthe one-off build costs as much as '
          f'{build / img_ep:.1f} (train_bn=True) or {build / nobn_ep:.1f} (train_bn=False) epochs on images')


if __name__ == '__main__': main()
