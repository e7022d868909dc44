"""Overhead of `Learner.fit`'s loop against a hand-written PyTorch loop.

Both run one epoch (train, then validation loss) of the same small CNN on the same 64 px batches, held in memory
so that data loading costs nothing, with SGD (momentum 0.9) at the same learning rate. `fit` runs with its default
callbacks (device placement, mixed-precision switch, BatchNorm freeze, NaN check, recorder, progress bar and epoch
table) and no metrics; the hand loop also sums `loss.item()` for the epoch's mean training and validation loss,
which is what `fit` reports. The two are timed alternately, in the same process, `--reps` times each (after one
warm-up run each); the script prints both medians and their ratio.

A second measurement runs the same comparison with a near-free model (a linear layer on 2 numbers per item), so
that what is left is the loop itself: the difference per batch is `fit`'s fixed cost in microseconds.

    .venv/bin/python benchmarks/loop_overhead.py [--reps 9] [--n-batches 50] [--bs 32] [--sz 64] [--threads N]

On a shared or busy machine the medians move a lot; the minima are the better estimate there (noise only adds time).
"""
import argparse, contextlib, copy, io, platform, statistics, time
from types import SimpleNamespace

import torch
from torch import nn

from transfer_nb.core import default_device, set_seed
from transfer_nb.learner import Learner


def small_cnn(c:int=10):
    "Four stride-2 conv/BN/ReLU blocks, pooling and a linear layer (about 100k parameters)."
    def block(ni, nf): return [nn.Conv2d(ni, nf, 3, stride=2, padding=1), nn.BatchNorm2d(nf), nn.ReLU()]
    return nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 64), *block(64, 128),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, c))


def hand_epoch(model, opt, loss_func, trn, val):
    "The loop you would write by hand: train on `trn`, then the mean loss on `val`."
    model.train()
    tot, n = 0., 0
    for xb, yb in trn:
        loss = loss_func(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        tot += loss.item() * len(yb); n += len(yb)
    model.eval()
    vtot, vn = 0., 0
    with torch.no_grad():
        for xb, yb in val:
            vtot += loss_func(model(xb), yb).item() * len(yb); vn += len(yb)
    return tot / n, vtot / vn


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--reps', type=int, default=9)
    p.add_argument('--n-batches', type=int, default=50)
    p.add_argument('--n-valid', type=int, default=10)
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--sz', type=int, default=64)
    p.add_argument('--threads', type=int, default=None, help='torch intra-op threads (default: torch\'s choice)')
    args = p.parse_args()
    if args.threads: torch.set_num_threads(args.threads)

    dev = default_device()
    print(f'device: {dev}, torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}')
    shape = f'{args.bs} x 3 x {args.sz} x {args.sz}'
    print(f'== small CNN, one epoch: {args.n_batches} train + {args.n_valid} valid batches of {shape}, '
          f'{args.reps} alternating runs each')
    c_fit, c_hand = compare(lambda: small_cnn(10), (3, args.sz, args.sz), args, args.reps, dev)
    print(f"== near-free model (Linear(2, 10)), same batches, {5*args.reps} runs each: what is left is the loops' own cost")
    t_fit, t_hand = compare(lambda: nn.Linear(2, 10), (2,), args, 5*args.reps, dev)
    extra = statistics.median(t_fit) - statistics.median(t_hand)
    print(f'fit costs {extra*1e3:.1f} ms more per epoch = {extra/(args.n_batches + args.n_valid)*1e6:.0f} us per batch '
          '(medians; its fixed cost per fit included)')
    print(f'== estimate for the CNN epoch: {extra*1e3:.1f} ms / {statistics.median(c_hand)*1e3:.0f} ms = '
          f'{100*extra/statistics.median(c_hand):.2f}% loop overhead')


def compare(make_model, item_shape, args, reps, dev):
    "Time `learn.fit(lr, 1)` against `hand_epoch` on the same batches, alternately; print and return the times."
    set_seed(0)
    c, lr = 10, 0.01
    batches = lambda n: [(torch.randn(args.bs, *item_shape, device=dev), torch.randint(0, c, (args.bs,), device=dev))
                         for _ in range(n)]  # a list works as a loader: it has `len` and iterates
    trn, val = batches(args.n_batches), batches(args.n_valid)
    model = make_model()
    hand_model = copy.deepcopy(model).to(dev)
    hand_opt = torch.optim.SGD(hand_model.parameters(), lr=lr, momentum=0.9)
    loss_func = nn.CrossEntropyLoss()
    data = SimpleNamespace(trn_dl=trn, val_dl=val, is_multi=False, path='.')
    learn = Learner(data, model, mixed_precision=False)  # the hand loop is plain float32 too
    table = io.StringIO()  # fit prints its epoch table; keep the benchmark's own output readable

    def run_fit():
        with contextlib.redirect_stdout(table): learn.fit(lr, 1)
    def run_hand(): hand_epoch(hand_model, hand_opt, loss_func, trn, val)
    def timed(f):
        if dev.type == 'cuda': torch.cuda.synchronize()
        t = time.perf_counter(); f()
        if dev.type == 'cuda': torch.cuda.synchronize()
        return time.perf_counter() - t

    timed(run_fit); timed(run_hand)  # warm-up
    t_fit, t_hand = [], []
    for i in range(reps):  # alternate which goes first, so drifts in machine speed hit both alike
        for f, ts in ((run_fit, t_fit), (run_hand, t_hand))[::1 if i % 2 == 0 else -1]: ts.append(timed(f))
    m_fit, m_hand = statistics.median(t_fit), statistics.median(t_hand)
    print(f'hand-written loop: median {m_hand*1000:8.1f} ms   (min {min(t_hand)*1000:.1f}, max {max(t_hand)*1000:.1f})')
    print(f'learn.fit:         median {m_fit*1000:8.1f} ms   (min {min(t_fit)*1000:.1f}, max {max(t_fit)*1000:.1f})')
    print(f'ratio fit/hand: {m_fit/m_hand:.3f} (medians), {min(t_fit)/min(t_hand):.3f} (minima) '
          f'-> loop overhead {100*(m_fit/m_hand - 1):+.1f}% (medians), {100*(min(t_fit)/min(t_hand) - 1):+.1f}% (minima)')
    return t_fit, t_hand


if __name__ == '__main__': main()
