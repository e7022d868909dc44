"""What each step of the lesson's recipe buys: the Planet recipe with one step changed at a time, over several seeds.

The baseline is the lesson's recipe as `transfer-nb planet` runs it: an ImageNet-pretrained EfficientNet-Lite0, the
LR finder's `min_div10` as the learning rate, the head trained on precomputed activations (2 epochs), then at each
size the head with augmentation and the whole network unfrozen at lr/9, lr/3, lr, each with SGDR (2 cycles,
`cycle_mult=2`), sizes growing (progressive resizing), 8-view dihedral TTA. Each other row changes one thing:

    scratch          random weights instead of ImageNet's
    lr_div10         lr 10x below the finder's choice          lr_x10        10x above
    constant_lr      a constant lr for the same epochs, no SGDR restarts or annealing
    one_lr           one lr for every layer group once unfrozen (no differential lrs)
    never_unfreeze   the head only, at every size
    one_size         the last size only, for the baseline's training wall time
    train_bn         BatchNorm of frozen groups trains too
    no_precompute    the first head epochs on the images instead of cached activations
    no_tta           plain predictions (the baseline's model: no training of its own)
    fixed_0.2        TTA at the lesson's single threshold 0.2 instead of the lesson's `f2` (best of 0.17..0.23)
    chosen_th        per-tag thresholds fitted on one half of the validation set and scored on the other

The score is the lesson's `f2` (sample-averaged F2 at the best single threshold in 0.17..0.23) of the validation
predictions (TTA unless the row says otherwise). All runs of a seed share the sample and the validation split; the
seed changes the weights of the head, the augmentation and the order of the batches. Each row's mean comes with a 95%
t-interval over seeds, and so does its difference from the baseline, paired by seed (the better guide: the seeds'
common noise cancels). Wall time is training plus prediction, per run.

    python benchmarks/ablation.py --setting small                  # CPU, about 25 minutes on 2 cores
    python benchmarks/ablation.py --setting full                   # GPU: 4000 chips, 64/128/256 px, 5 seeds
    python benchmarks/ablation.py --setting small --rows baseline,scratch --seeds 2 --out /tmp/abl

Writes OUT/runs.csv (one line per run), OUT/summary.csv (one per row) and OUT/ablation.png, and prints the summary.
"""
import argparse, contextlib, io, math, os, tempfile, time, warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

from transfer_nb.all import *
from transfer_nb.planet import cross_fit_f2, opt_th_per_class, opt_th
from transfer_nb.sample_data.planet import make_planet_sample


@dataclass
class Setting:
    n_train: int; n_valid: int; sizes: tuple; bs: int; seeds: int; difficulty: str; workers: int | None = None

SETTINGS = {'tiny': Setting(n_train=48, n_valid=32, sizes=(32,), bs=16, seeds=2, difficulty='hard', workers=0),   # tests only
            'small': Setting(n_train=256, n_valid=256, sizes=(48, 64), bs=32, seeds=5, difficulty='hard', workers=0),
            'full': Setting(n_train=3200, n_valid=800, sizes=(64, 128, 256), bs=64, seeds=5, difficulty='hard')}
TRAINED = ['baseline', 'scratch', 'lr_div10', 'lr_x10', 'constant_lr', 'one_lr', 'never_unfreeze', 'one_size',
           'train_bn', 'no_precompute']
FROM_BASELINE = ['no_tta', 'fixed_0.2', 'chosen_th']   # scored on the baseline's predictions


def get_data(path, sz, s:Setting, bs=None):
    "The lesson's Planet data at `sz`, with the last `n_valid` chips (in name order) held out; down-sized copies below 128 px."
    tfms = tfms_from_model(efficientnet_lite0, sz, aug_tfms=transforms_top_down, max_zoom=1.05)
    n = s.n_train + s.n_valid
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # rare tags only in one split: expected with real frequencies
        data = ImageClassifierData.from_csv(path, 'train-jpg', Path(path)/'train_v2.csv', bs=bs or s.bs, tfms=tfms,
                                            suffix='.jpg', val_idxs=np.arange(s.n_train, n), num_workers=s.workers)
    return data.resize(int(sz * 1.3), 'tmp') if sz <= 128 else data


def fit_stage(learn, lrs, change):
    "One stage of the recipe: SGDR over 2 cycles (1 + 2 epochs), or a constant lr for the same 3 epochs."
    if change == 'constant_lr': learn.fit(lrs, 3)
    else: learn.fit(lrs, 2, cycle_len=1, cycle_mult=2)


def train(path, s:Setting, seed:int, change:str, budget:float|None=None):
    "Train the recipe with `change`; the learner and the training seconds."
    set_seed(seed)
    t0 = time.perf_counter()
    data = get_data(path, s.sizes[0] if change != 'one_size' else s.sizes[-1], s)
    learn = ConvLearner.pretrained(efficientnet_lite0, data, precompute=change != 'no_precompute', metrics=[],
                                   pretrained=change != 'scratch', train_bn=change == 'train_bn', device=default_device())
    learn.remove_cbs([cb for cb in learn.cbs if isinstance(cb, ProgressCallback)])
    sugg = learn.lr_find(num_it=max(50, len(data.trn_dl)))
    lr = sugg.min_div10 * {'lr_div10': 0.1, 'lr_x10': 10.}.get(change, 1.)
    learn.fit(lr, 2)                                 # the head, on precomputed activations (or images: no_precompute)
    learn.precompute = False
    div = np.array([1., 1., 1.]) if change == 'one_lr' else np.array([9., 3., 1.])
    if change == 'one_size':                         # the last size only, SGDR cycles until the baseline's time is spent
        while time.perf_counter() - t0 < budget:
            learn.freeze() if change == 'never_unfreeze' else learn.unfreeze()
            learn.fit(lr / div, 1, cycle_len=1)
    else:
        for i, sz in enumerate(s.sizes):
            if i: learn.set_data(get_data(path, sz, s))
            learn.freeze(); fit_stage(learn, lr, change)
            if change != 'never_unfreeze': learn.unfreeze(); fit_stage(learn, lr / div, change)
    return learn, time.perf_counter() - t0


def scores(learn):
    "The validation targets, and the plain and TTA probabilities."
    views, y = learn.TTA(dihedral=True)
    return y, views[0], tta_probs(views, is_multi=True)


def run_one(path, s, seed, change, budget=None):
    with contextlib.redirect_stdout(io.StringIO()):
        learn, secs = train(path, s, seed, change, budget)
        t0 = time.perf_counter()
        y, plain, tta = scores(learn)
    return y, plain, tta, secs, time.perf_counter() - t0


def interval(x):
    "Mean and half-width of the 95% t-interval of `x` (NaN half-width for one value)."
    x = np.asarray(x, float)
    if len(x) < 2: return float(x.mean()), math.nan
    return float(x.mean()), float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))


def summarise(runs:pd.DataFrame)->pd.DataFrame:
    base = runs[runs.row == 'baseline'].set_index('seed').f2
    rows = []
    for row, g in runs.groupby('row', sort=False):
        m, h = interval(g.f2)
        d, dh = interval(g.set_index('seed').f2 - base.loc[g.seed].values) if row != 'baseline' else (0., 0.)
        verdict = ('baseline' if row == 'baseline' else 'within noise' if math.isnan(dh) or abs(d) <= dh
                   else 'worse than the baseline' if d < 0 else 'better than the baseline')
        rows.append(dict(row=row, seeds=len(g), f2=m, f2_ci=h, diff=d, diff_ci=dh, seconds=g.seconds.mean(), verdict=verdict))
    return pd.DataFrame(rows)


def plot(summary:pd.DataFrame, fname:Path, title:str):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    sm = summary[summary.row != 'baseline'].iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(sm) + 1.2))
    ax.errorbar(sm['diff'], range(len(sm)), xerr=np.nan_to_num(sm.diff_ci), fmt='o', capsize=3)
    ax.axvline(0, color='gray', ls=':')
    ax.set_yticks(range(len(sm)), sm.row); ax.set_xlabel('F2 minus the baseline (95% interval over seeds, paired)')
    ax.set_title(title, fontsize=9)
    fig.tight_layout(); fig.savefig(fname, dpi=100); plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--setting', choices=SETTINGS, default='small')
    p.add_argument('--seeds', type=int, default=None, help='seeds per row (default: the setting\'s)')
    p.add_argument('--rows', default=','.join(TRAINED + FROM_BASELINE), help='comma-separated rows (baseline is always run)')
    p.add_argument('--difficulty', default=None, help="the sample's difficulty (default: the setting's)")
    p.add_argument('--sizes', default=None, help="comma-separated image sizes (default: the setting's), to cut a run short")
    p.add_argument('--out', type=Path, default=Path('ablation_out'))
    p.add_argument('--data', type=Path, default=None, help='where the sample is generated (default: a folder in the temp dir, reused)')
    a = p.parse_args()
    s = SETTINGS[a.setting]
    s = replace(s, seeds=a.seeds or s.seeds, difficulty=a.difficulty or s.difficulty,
                sizes=tuple(int(x) for x in a.sizes.split(',')) if a.sizes else s.sizes)
    rows = ['baseline'] + [r for r in a.rows.split(',') if r and r != 'baseline']
    if bad := [r for r in rows if r not in TRAINED + FROM_BASELINE]: p.error(f'unknown rows {bad}: choose from {TRAINED + FROM_BASELINE}')
    a.out.mkdir(parents=True, exist_ok=True)
    data_dir = a.data or Path(tempfile.gettempdir())/f'transfer_nb_ablation_{s.difficulty}_{s.n_train + s.n_valid}'
    path = make_planet_sample(data_dir, n_train=s.n_train + s.n_valid, n_test=0, seed=0, difficulty=s.difficulty)
    print(f'{a.setting}: {s}; device {default_device()}, torch {torch.__version__}, {torch.get_num_threads()} threads')
    records, t_start = [], time.perf_counter()
    for seed in range(s.seeds):
        y, plain, tta, secs, pred_secs = run_one(path, s, seed, 'baseline')
        budget = secs
        f2_of = dict(baseline=f2(tta, y), no_tta=f2(plain, y), **{'fixed_0.2': f2_at(tta, y, 0.2)},
                     chosen_th=cross_fit_f2(tta, y, lambda p, t: opt_th_per_class(p, t, init=opt_th(p, t, 0.05, 0.5, 0.01))))
        for r in ['baseline'] + [r for r in rows if r in FROM_BASELINE]:
            records.append(dict(row=r, seed=seed, f2=float(f2_of[r]), seconds=secs + pred_secs))
        print(f'  seed {seed} baseline: F2 {f2_of["baseline"]:.4f}, {secs + pred_secs:.0f} s', flush=True)
        pd.DataFrame(records).to_csv(a.out/'runs.csv', index=False)   # every run kept, should the job be stopped
        for r in [r for r in rows if r in TRAINED and r != 'baseline']:
            y, plain, tta, secs, pred_secs = run_one(path, s, seed, r, budget)
            records.append(dict(row=r, seed=seed, f2=float(f2(tta, y)), seconds=secs + pred_secs))
            print(f'  seed {seed} {r}: F2 {records[-1]["f2"]:.4f}, {secs + pred_secs:.0f} s', flush=True)
            pd.DataFrame(records).to_csv(a.out/'runs.csv', index=False)
        print(f'seed {seed} done, {(time.perf_counter() - t_start) / 60:.1f} min so far', flush=True)
    runs = pd.DataFrame(records)
    summary = summarise(runs)
    summary.to_csv(a.out/'summary.csv', index=False)
    plot(summary, a.out/'ablation.png', f'{a.setting} setting: {s.n_train} training / {s.n_valid} validation chips '
         f'({s.difficulty}), sizes {s.sizes}, {s.seeds} seeds')
    with pd.option_context('display.width', 160, 'display.precision', 4): print(summary.to_string(index=False))
    print(f'total {(time.perf_counter() - t_start) / 60:.1f} min; {a.out}/runs.csv, summary.csv, ablation.png')


if __name__ == '__main__': main()
