"""What does applying the EXIF orientation cost `read_image`?

`read_image` now reads the orientation tag from the header PIL has already parsed and turns the decoded tensor when the
tag asks for it. This times it against the reader as it was before (the same code without those two steps), in one
process, alternating the two `--reps` times over the same files: 100 JPEGs at 256x256 read whole (torchvision's
decoder), 100 at 1024x1024 read whole and read for a 64 px model (PIL decodes them at 1/8 scale), all without EXIF,
as most datasets are; and the 256 px ones again tagged with orientation 6 (the turn itself). Prints the minimum time
per image of each (noise only adds time) and the ratio new / old.

    .venv/bin/python benchmarks/exif_cost.py
"""
import argparse, tempfile, time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transfer_nb.images import read_image, checked_image, _decode_whole_jpeg, _to_rgb


def read_image_before(fn, min_size=None):
    "`read_image` as it was before the EXIF orientation was applied."
    with checked_image(fn) as im:
        if im.format == 'JPEG' and im.mode == 'RGB' and not (min_size and min(im.size) >= 2 * min_size):
            if (x := _decode_whole_jpeg(im)) is not None: return x
        if min_size and im.format == 'JPEG': im.draft('RGB', (min_size, min_size))
        arr = np.asarray(_to_rgb(im))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


def photos(folder, n, side, orientation=None):
    "`n` photo-like JPEGs (smooth blocks plus noise) of `side` px, tagged with `orientation` when given."
    rng, files = np.random.default_rng(side), []
    exif = Image.Exif()
    if orientation: exif[0x0112] = orientation
    for i in range(n):
        a = np.kron(rng.integers(0, 256, (side // 32, side // 32, 3), dtype=np.uint8), np.ones((32, 32, 1), np.uint8))
        a = a + rng.integers(0, 24, a.shape, dtype=np.uint8)
        f = folder/f'{side}_{orientation}_{i}.jpg'; Image.fromarray(a).save(f, quality=90, exif=exif); files.append(f)
    return files


def per_image(read, files, min_size):
    start = time.perf_counter()
    for f in files: read(f, min_size)
    return (time.perf_counter() - start) / len(files)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--reps', type=int, default=7, help='timed passes of each reader, alternating')
    args = p.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        big = photos(d, 100, 1024)
        cases = [('256 px, whole', photos(d, 100, 256), None), ('1024 px, whole', big, None),
                 ('1024 px, for 64 px (1/8 scale)', big, 64),
                 ('256 px tagged 6, whole (turned)', photos(d, 100, 256, 6), None)]
        for name, files, min_size in cases:
            # the same pixels, apart from the turn that the old reader did not do
            test = read_image(files[0], min_size); ref = read_image_before(files[0], min_size)
            assert test.shape == ref.shape or test.shape == ref.transpose(1, 2).shape
            t = {'before': [], 'now': []}
            for _ in range(args.reps):
                t['before'].append(per_image(read_image_before, files, min_size))
                t['now'].append(per_image(read_image, files, min_size))
            b, n = min(t['before']), min(t['now'])
            print(f'{name:34s} before {b*1e6:7.0f} us/image, now {n*1e6:7.0f} us/image, ratio {n/b:.3f}')


if __name__ == '__main__': main()
