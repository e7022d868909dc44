"""Images per second of the lesson's training pipelines against a plain torchvision one, through the same loader.

The baseline is what a PyTorch user would write without this library: `torchvision.io.decode_jpeg` of the 256 px
originals, `v2.RandomResizedCrop(sz)`, a flip, float conversion and normalisation. Against it, in one process and with
the same workers and batch size, the script times the lesson's `transforms_side_on` (`max_zoom=1.1`) and
`transforms_top_down` (`max_zoom=1.05`), each
- from the originals and from `data.resize(int(1.3 * sz))` copies (what `planet_data` reads below 128 px), and
- as one warp (`ImageTfm`'s default) and step by step (`fused=False`, torchvision's per-transform calls).
Loaders keep their workers between passes, as `trn_dl` does. Each is timed alternately `--reps` times after one warm-up pass; the table gives the best pass (noise on a
shared machine only adds time) and its ratio to the baseline's best.

    python benchmarks/data_loading.py                 # 500 chips at 256 px, read at 64 px, the default workers
    python benchmarks/data_loading.py --workers 0 --sz 128
"""
import argparse, tempfile, time
from pathlib import Path

import pandas as pd
import torch
from torch.utils.data import Dataset
from torchvision.io import decode_jpeg, read_file
from torchvision.transforms import v2
from transfer_nb.all import *


class TorchvisionBaseline(Dataset):
    "Decode with torchvision, `RandomResizedCrop`, flip, normalise: the plain PyTorch pipeline."
    def __init__(self, files, sz):
        self.files = files
        self.tfm = v2.Compose([v2.RandomResizedCrop(sz, antialias=True), v2.RandomHorizontalFlip(),
                               v2.ToDtype(torch.float32, scale=True), v2.Normalize(*imagenet_stats)])
    def __len__(self): return len(self.files)
    def __getitem__(self, i): return self.tfm(decode_jpeg(read_file(str(self.files[i])))), 0


def one_pass(dl)->tuple[float, int]:
    "Seconds and images of one pass over `dl`."
    start, n = time.perf_counter(), 0
    for x, _ in dl: n += len(x)
    return time.perf_counter() - start, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=500, help='labelled chips (80% are training images)')
    ap.add_argument('--sz', type=int, default=64); ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--workers', type=int, default=None, help='loader processes (default: one per CPU, up to 8)')
    ap.add_argument('--reps', type=int, default=3)
    a = ap.parse_args()
    torch.manual_seed(0)
    tmp = Path(tempfile.mkdtemp())
    path = make_planet_sample(tmp/'planet', n_train=a.n, n_test=0, size=256, seed=0)
    orig = ImageClassifierData.from_csv(path, 'train-jpg', path/'train_v2.csv', bs=a.bs, suffix='.jpg', num_workers=a.workers)
    cached = orig.resize(int(1.3 * a.sz), 'tmp')
    loaders = {('torchvision baseline', 'originals', '-'): orig.dl(TorchvisionBaseline(orig.trn_ds.files, a.sz), shuffle=True, persistent=True)}
    for name, augs, zoom in (('side_on', transforms_side_on, 1.1), ('top_down', transforms_top_down, 1.05)):
        for fused in (True, False):
            tfm = ImageTfm(a.sz, imagenet_stats, augs, zoom, fused=fused)
            for source, data in (('originals', orig), ('resized copies', cached)):
                loaders[(name, source, 'one warp' if fused else 'step by step')] = data.dl(data.trn_ds.with_tfm(tfm), shuffle=True, persistent=True)
    print(f'{len(orig.trn_ds)} training chips of 256 px -> {a.sz} px, bs {a.bs}, {orig.num_workers} workers, '
          f'{torch.get_num_threads()} torch threads')
    best = {k: float('inf') for k in loaders}
    for dl in loaders.values(): one_pass(dl)                      # warm-up: page cache, allocator
    for _ in range(a.reps):
        for k, dl in loaders.items():
            secs, n = one_pass(dl)
            best[k] = min(best[k], secs / n)
    base = best[('torchvision baseline', 'originals', '-')]
    table = pd.DataFrame([dict(pipeline=p, source=s, mode=m, img_per_s=round(1 / t), vs_baseline=round(base / t, 2))
                          for (p, s, m), t in best.items()])
    print(table.to_string(index=False))
    for name in ('side_on', 'top_down'):
        w, s = best[(name, 'resized copies', 'one warp')], best[(name, 'resized copies', 'step by step')]
        print(f'{name}, resized copies: one warp is {s / w:.2f}x step by step, {base / w:.2f}x the baseline')


if __name__ == '__main__': main()
