#!/usr/bin/env python
"""Run fastai's 2018 course notebooks (courses/dl1 of the fastai repository) against transfer_nb.

Each notebook is converted changing only what the acceptance test allows:
- the import lines (to `from transfer_nb.all import *`);
- `PATH` (to a generated sample in the same folder layout: dogs and cats, dog breeds, Planet, CIFAR-10, fisheries);
- pretrained architectures (to `efficientnet_lite0`, whose ImageNet weights work offline) and what follows from that
  choice alone (lesson7-CAM's 512 channels and 12 layer groups of ResNet-34 are 1280 and 9 for EfficientNet-Lite0);
- image sizes and the number of epochs (the samples are small and the machine may be a CPU);
- the environment: shell lines that set up the author's disks (`!ln -s /datasets/...`, `%mkdir`), IPython's
  `%matplotlib`/`%autoreload` lines, `%time`/`%%time` (the statement runs, untimed), and on a machine without CUDA
  `torch.cuda.set_device(0)` and the notebook's own `.cuda()` calls.
Every cell is then run in order in one IPython shell (its random generators seeded with 0, so that runs repeat), and a table says which cells failed and why. A cell may fail
only where fastai 0.7 itself fails today (the notebook's own bugs, a download from a URL that no longer exists):
those are listed in `EXPECTED` with the reason, and notebook 13_course lists them too.

    python tools/course_check.py COURSE_DIR [--out DIR] [--only lesson1 ...] [--show-code]

COURSE_DIR holds the notebooks (lesson1.ipynb, ...); the ones present are run. Exit status 0 when every cell ran
apart from the expected failures. `--fast` leaves out the notebooks that train large networks from scratch
(`cifar10`: ResNeXt-29 8x64d, `cifar10-simplenet`), a few minutes each on a CPU, and the 2017-12-30 copy of lesson 2.
"""
import argparse, json, os, re, shutil, sys, tempfile, time
from pathlib import Path

SZ = lambda old, new: {rf'\bsz\s*=\s*{old}\b': f'sz={new}'}
# notebook -> (default sample, {pattern: replacement}) for its architecture, size and epoch lines
RULES = {
    'lesson1': ('dogscats', {**SZ(224, 64), r'\bresnet34\b': 'efficientnet_lite0'}),
    'lesson1-rxt50': ('dogscats', {**SZ(299, 64), r'\bresnext50\b': 'efficientnet_lite0'}),
    'lesson1-breeds': ('dogbreeds', {r'\bsz\s*=\s*224\b': 'sz = 64', r'\bbs\s*=\s*58\b': 'bs = 16',
                                     r'get_data\(299, bs\)': 'get_data(96, bs)', r'\bresnext101_64\b': 'efficientnet_lite0'}),
    'lesson2-image_models': ('planet', {r'get_data\(256\)': 'get_data(64)', r'\bsz\s*=\s*64\b': 'sz=32',
                                        r'\bsz\s*=\s*128\b': 'sz=48', r'\bsz\s*=\s*256\b': 'sz=64',
                                        r'\bresnet34\b': 'efficientnet_lite0'}),
    'lesson1-vgg': ('dogscats', {**SZ(224, 64), r'\bvgg16\b': 'efficientnet_lite0'}),
    'lesson1-workshop': ('dogscats', {**SZ(224, 64), r'\bresnet34\b': 'efficientnet_lite0'}),
    'lesson1-breeds2': ('dogbreeds', {**SZ(224, 64), r'\bdn161\b': 'efficientnet_lite0'}),
    'lesson7-cifar10': ('cifar10', {r'learn\.fit\(1e-2, 8, cycle_len=4': 'learn.fit(1e-2, 2, cycle_len=2'}),
    'lesson7-CAM': ('dogscats', {**SZ(224, 64), r'\bresnet34\b': 'efficientnet_lite0',
                                 r'nn\.Conv2d\(512, 2': 'nn.Conv2d(1280, 2',      # Lite0's body ends in 1280 channels
                                 r'\[\[1e-6\]\*4,\[1e-4\]\*4,\[1e-2\]\*4\]': '[[1e-6]*3,[1e-4]*3,[1e-2]*3]'}),  # 9 children, not 12
    'cifar10': ('cifar10_small', {r'get_data\(16,': 'get_data(8,', r'get_data\(24,': 'get_data(16,',
                                  r'get_data\(32,': 'get_data(16,', r'learn\.fit\(lr, 3, cycle_len=4': 'learn.fit(lr, 1, cycle_len=2'}),
    'cifar10-simplenet': ('cifar10_small', {r'\bresnet18\b': 'efficientnet_lite0', r'cycle_len=(20|10|5)\b': 'cycle_len=1',
                                            r'learn\.fit\(lr, 3, cycle_len=1, cycle_mult=2': 'learn.fit(lr, 2, cycle_len=1, cycle_mult=2'}),
    'adamw-sgdw-demo': ('cifar10_valid', {**SZ(224, 64), r'\bresnet(152|50)\b': 'efficientnet_lite0',
                                          r'cycle_len\s*=\s*(2|12)\b': 'cycle_len=1', r'num_cycles = 4\b': 'num_cycles = 2'}),
    'fish': ('fish', {**SZ(350, 64), **SZ(299, 64), r'\bresnet34\b': 'efficientnet_lite0',
                      r'learn\.fit\(lrs, 5, cycle_len=1, cycle_mult=2\)': 'learn.fit(lrs, 2, cycle_len=1, cycle_mult=2)'}),
}
# cells that fail with fastai 0.7 too: (notebook, code cell index in the .ipynb) -> why
EXPECTED = {
    ('lesson1-vgg', 19): "in the copy in ../shared/course this cell joins two lines (`np.mean(...,0)accuracy_np(probs,y)`): a SyntaxError "
                         "in any Python (fastai's own copy has a line break there, and its cell 19 runs)",
    ('lesson1-breeds2', 39): "uses `wds` and `uwds`, which the notebook never defines (NameError in fastai 0.7 too)",
    ('lesson1-breeds2', 40): "`metrics.log_loss(y, np.exp(log_preds))` on TTA's stacked views (n_aug+1, n, c), as if they were one prediction",
    ('lesson1-breeds2', 44): "its `get_data` builds the data without `test_name`, so there is no test set (fastai 0.7: the same AttributeError)",
    ('lesson1-breeds2', 45): "`learn.TTA(is_test=True)` without a test set (see cell 44)",
    ('lesson1-breeds2', 47): "`pd.DataFrame(probs)` of TTA's stacked views: 3-d, where one prediction is 2-d",
    ('lesson1-breeds2', 48): "uses the `df` of cell 47", ('lesson1-breeds2', 49): "uses the `df` of cell 47",
    ('lesson1-breeds2', 50): "uses the `df` of cell 47",
    **{('cifar10-simplenet', i): "its `SimpleConv` applies `Dropout(inplace=True)` to the output of `ReLU(True)`, which the ReLU keeps for "
       "its gradient: PyTorch refuses the backward pass (PyTorch of 2018 may have let it through with wrong gradients, pytorch#5687); "
       "the cells that train this network fail" for i in (21, 22, 23, 24, 26, 28)},
    ('cifar10', 42): "`preds = np.mean(...), metrics.log_loss(y, preds), ...` reads `preds` in the line that first defines it (NameError)",
    ('cifar10', 50): "`metrics.log_loss(y, np.exp(log_preds))` on TTA's stacked views (n_aug+1, n, c): scikit-learn wants (n, c)",
    ('fish', 27): "`learn.freeze_to(6)` on a learner with 3 layer groups freezes all of them; the LR finder then has nothing to train "
                  "(fastai 0.7 and PyTorch fail the same way)",
    ('fish', 41): "`get_annotations()` downloads the bounding boxes from Kaggle forum attachments that no longer exist (and the "
                  "check runs offline); the cells below that read them or name the competition's files fail with it",
    ('fish', 42): "reads the annotation files of cell 41", ('fish', 49): "names a file of the real competition (`img_02642.jpg`)",
    ('fish', 55): "names a file of the real competition", ('fish', 56): "names a file of the real competition",
    ('fish', 59): "names a file of the real competition", ('fish', 73): "names a file of the real competition",
}
PATHS = {'dogscats': 'dogscats', 'dogbreed': 'dogbreeds', 'planet': 'planet', 'cifar10': None, 'fish': 'fish'}
IMPORT = re.compile(r'^\s*(from\s+(fastai[\w.]*|planet)\s+import\s+.*|import\s+fastai.*)$')
SETUP_SHELL = re.compile(r'^(!\s*(ln|wget|unzip|tar|kaggle|mkdir)\b|%mkdir\b|%(matplotlib|reload_ext|autoreload)\b)')


def make_samples(root:Path)->dict:
    "The generated datasets, in the folder layouts the notebooks read."
    from transfer_nb.sample_data import (make_dogscats_sample, make_dogbreeds_sample, make_planet_sample,
                                         make_cifar10_sample, make_scenes_sample)
    s = {'dogscats': make_dogscats_sample(root/'dogscats'), 'dogbreeds': make_dogbreeds_sample(root/'dogbreeds'),
         'planet': make_planet_sample(root/'planet'), 'cifar10': make_cifar10_sample(root/'cifar10'),
         'cifar10_small': make_cifar10_sample(root/'cifar10_small', n_per_class=10, n_test=5)}
    s['cifar10_valid'] = _with_valid(s['cifar10'], root/'cifar10_valid')
    s['fish'] = _fish(make_scenes_sample(root/'fish_scenes', n_per_class=20, n_valid=1, n_test=0, size=(60, 120), difficulty=.4,
                                         classes={'ALB': 'forest', 'BET': 'city', 'DOL': 'desert', 'LAG': 'lake',
                                                  'SHARK': 'mountains', 'YFT': 'fields'}), root/'fish')
    return s

def _with_valid(src:Path, dest:Path)->Path:
    "A copy of a CIFAR-10 sample with its `test/` also as `valid/`: the layout the AdamW demo's author had (it reads `valid/`)."
    if not dest.exists():
        shutil.copytree(src, dest)
        shutil.copytree(dest/'test', dest/'valid')
    return dest

def _fish(scenes:Path, dest:Path)->Path:
    "The fisheries competition's layout: `train/<CLASS>/img_<5 digits>.jpg`, every name unique across classes."
    if not dest.exists():
        k = 0
        for d in sorted((scenes/'train').iterdir()):
            (dest/'train'/d.name).mkdir(parents=True)
            for f in sorted(d.glob('*.jpg')): shutil.copy(f, dest/'train'/d.name/f'img_{k:05d}.jpg'); k += 1
    return dest

def convert_path(line:str, name:str, samples:dict)->str:
    "`PATH = '...'` (or `Path('...')`) pointed at the sample for the dataset the original path names; the rest of it kept."
    def sub(m):
        old = m.group(3)
        for key, layout in PATHS.items():
            i = old.rfind(key)
            if i < 0: continue
            layout = layout or RULES[name][0]
            rest = old[i:].split('/', 1)[1] if '/' in old[i:] else ''
            return f'{m.group(1)}{m.group(2)}{samples[layout]}/{rest}{m.group(2)}'
        return f'{m.group(1)}{m.group(2)}{samples[RULES[name][0]]}/{m.group(2)}'
    return re.sub(r'^(\s*PATH\s*=\s*(?:Path\()?)(["\'])(.*?)\2', sub, line)

def convert_source(src:str, name:str, samples:dict, first_import:list)->str:
    "One cell's code, converted by the allowed rules."
    subs = RULES[name][1]
    out = []
    for line in src.splitlines():
        s = line.strip()
        if SETUP_SHELL.match(s) or re.match(r'^!\s*ls\b', s) or re.match(r'^ls\s+\{', s): continue   # the author's disks
        if s.startswith('%%time'): continue
        line = re.sub(r'^(\s*)%time\s+', r'\1', line)
        if not torch_cuda():                                                                    # a machine without CUDA
            if s.startswith('torch.cuda.set_device'): continue
            line = line.replace('.cuda()', '')
        if IMPORT.match(line):                                                                  # import lines
            if not first_import: out.append('from transfer_nb.all import *'); first_import.append(True)
            continue
        line = convert_path(line, name, samples)
        line = re.sub(r'(["\'])data/dogscats/valid/\1', repr(str(samples['dogscats']) + '/valid/'), line)
        for pat, rep in subs.items(): line = re.sub(pat, rep, line)
        out.append(line)
    return '\n'.join(out)

_cuda = None
def torch_cuda():
    global _cuda
    if _cuda is None:
        import torch
        _cuda = torch.cuda.is_available()
    return _cuda

def run_notebook(fn:Path, samples:dict, workdir:Path)->list:
    "Convert and run every code cell of `fn`; returns [(cell index, ok, seconds, first error line, code)]."
    from execnb.shell import CaptureShell
    name = fn.stem.replace('-2017-12-30', '')
    nb = json.loads(fn.read_text())
    first_import, results = [], []
    os.chdir(workdir)
    shell = CaptureShell()
    shell.run('import matplotlib; matplotlib.use("Agg")')
    shell.run('import random, numpy, torch; random.seed(0); numpy.random.seed(0); torch.manual_seed(0)')   # reproducible runs
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'code': continue
        code = convert_source(''.join(c['source']), name, samples, first_import)
        if not code.strip(): continue
        t0 = time.perf_counter()
        shell.exc = None
        shell.run(code)
        err = shell.exc
        results.append((i, err is None, time.perf_counter() - t0, '' if err is None else f'{type(err).__name__}: {err}'.splitlines()[0][:160], code))
        shell.run('import matplotlib.pyplot as _plt; _plt.close("all")')
    shell.run('_last = (learn.sched.val_losses[-1], learn.sched.metrics[-1]) if "learn" in dir() and learn.sched else None')
    results.append(shell.user_ns.get('_last'))
    return results

FAST = ['lesson1', 'lesson1-rxt50', 'lesson1-breeds', 'lesson2-image_models', 'lesson1-vgg',
        'lesson1-workshop', 'lesson1-breeds2', 'lesson7-cifar10', 'lesson7-CAM', 'adamw-sgdw-demo', 'fish']
SLOW = ['lesson2-image_models-2017-12-30', 'cifar10', 'cifar10-simplenet']   # an earlier lesson 2; ResNeXt-29 and SimpleNet from scratch

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('course_dir'); ap.add_argument('--out', default=None); ap.add_argument('--only', nargs='*')
    ap.add_argument('--fast', action='store_true', help='leave out the notebooks that train large networks from scratch')
    ap.add_argument('--show-code', action='store_true', help='print the converted code of failing cells')
    a = ap.parse_args()
    root, course = Path(a.out or tempfile.mkdtemp(prefix='course_check_')).resolve(), Path(a.course_dir).resolve()   # notebooks run in their own folders
    samples = make_samples(root/'data')
    names = a.only or [n for n in FAST + ([] if a.fast else SLOW) if (course/f'{n}.ipynb').exists()]
    total_bad = 0
    for name in names:
        fn = course/f'{name}.ipynb'
        work = root/'run'/name; work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        *res, last = run_notebook(fn, samples, work)
        bad = [r for r in res if not r[1]]
        unexpected = [r for r in bad if (fn.stem.replace('-2017-12-30', ''), r[0]) not in EXPECTED]
        total_bad += len(unexpected)
        print(f'{name}: {len(res) - len(bad)} of {len(res)} code cells ran, {len(bad) - len(unexpected)} expected failures, '
              f'{len(unexpected)} unexpected ({time.perf_counter() - t0:.0f} s); last epoch (val loss, metrics): {last}')
        for i, ok, secs, err, code in bad:
            why = EXPECTED.get((fn.stem.replace('-2017-12-30', ''), i))
            print(f'  cell {i}: {err}' + (f'  [expected: {why}]' if why else ''))
            if a.show_code and not why: print('    ' + code.replace('\n', '\n    '))
    print(f'course: {total_bad} unexpected failing cells')
    sys.exit(1 if total_bad else 0)

if __name__ == '__main__': main()
