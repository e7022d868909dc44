#!/usr/bin/env python
"""Run fastai's 2018 course notebooks (courses/dl1 of the fastai repository) against transfer_nb.

Each notebook is converted changing only what the acceptance test allows: the import lines (to
`from transfer_nb.all import *`), `PATH` (to a generated sample in the same folder layout), the architecture (to
`efficientnet_lite0`, whose ImageNet weights work offline), image sizes, and dropping shell magics (`%...`, `!...`,
`ls {PATH}`). One more change on a machine without CUDA: `torch.cuda.set_device(0)` is dropped. Every cell is then
run in order in one IPython shell, and a table says which cells failed and why.

    python tools/course_check.py COURSE_DIR [--out DIR] [--only lesson1 ...] [--keep]

COURSE_DIR holds lesson1.ipynb, lesson1-rxt50.ipynb, lesson1-breeds.ipynb, lesson2-image_models.ipynb (and, when
present, the 2017-12-30 version of lesson 2).
Exit status 0 when every cell of every notebook ran.
"""
import argparse, json, os, re, sys, tempfile, time, traceback
from pathlib import Path

# notebook -> (sample layout, {pattern: replacement}) for the sizes/architecture lines
RULES = {
    'lesson1': ('dogscats', {r'\bsz\s*=\s*224\b': 'sz=64', r'\bresnet34\b': 'efficientnet_lite0'}),
    'lesson1-rxt50': ('dogscats', {r'\bsz\s*=\s*299\b': 'sz=64', r'\bresnext50\b': 'efficientnet_lite0'}),
    'lesson1-breeds': ('dogbreeds', {r'\bsz\s*=\s*224\b': 'sz = 64', r'\bbs\s*=\s*58\b': 'bs = 16',
                                     r'get_data\(299, bs\)': 'get_data(96, bs)', r'\bresnext101_64\b': 'efficientnet_lite0'}),
    'lesson2-image_models': ('planet', {r'get_data\(256\)': 'get_data(64)', r'\bsz\s*=\s*64\b': 'sz=32',
                                        r'\bsz\s*=\s*128\b': 'sz=48', r'\bsz\s*=\s*256\b': 'sz=64',
                                        r'\bresnet34\b': 'efficientnet_lite0'}),
}
IMPORT = re.compile(r'^\s*(from\s+(fastai[\w.]*|planet)\s+import\s+.*|import\s+fastai.*)$')

def make_samples(root:Path)->dict:
    from transfer_nb.sample_data import make_dogscats_sample, make_dogbreeds_sample, make_planet_sample
    return {'dogscats': make_dogscats_sample(root/'dogscats'), 'dogbreeds': make_dogbreeds_sample(root/'dogbreeds'),
            'planet': make_planet_sample(root/'planet')}

def convert_source(src:str, name:str, samples:dict, first_import:list)->str:
    "One cell's code, converted by the allowed rules."
    layout, subs = RULES[name]
    out = []
    for line in src.splitlines():
        s = line.strip()
        if s.startswith(('%', '!')) or re.match(r'^ls\s+\{', s): continue                       # shell magics
        if not torch_cuda() and s.startswith('torch.cuda.set_device'): continue                   # CPU machine
        if IMPORT.match(line):                                                                     # import lines
            if not first_import: out.append('from transfer_nb.all import *'); first_import.append(True)
            continue
        line = re.sub(r'^(\s*PATH\s*=\s*)(["\']).*?\2', lambda m: f'{m.group(1)}{str(samples[layout]) + "/"!r}', line)
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
    "Convert and run every code cell of `fn`; returns [(cell index, ok, seconds, first error line)]."
    from execnb.shell import CaptureShell
    name = fn.stem.replace('-2017-12-30', '')
    nb = json.loads(fn.read_text())
    first_import, results = [], []
    os.chdir(workdir)
    shell = CaptureShell()
    shell.run('import matplotlib; matplotlib.use("Agg")')
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
    return results

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('course_dir'); ap.add_argument('--out', default=None); ap.add_argument('--only', nargs='*')
    ap.add_argument('--show-code', action='store_true', help='print the converted code of failing cells')
    a = ap.parse_args()
    root = Path(a.out or tempfile.mkdtemp(prefix='course_check_')).resolve()
    samples = make_samples(root/'data')
    names = a.only or [n for n in [*RULES, 'lesson2-image_models-2017-12-30'] if (Path(a.course_dir)/f'{n}.ipynb').exists()]
    total_bad = 0
    for name in names:
        fn = Path(a.course_dir)/f'{name}.ipynb'
        work = root/'run'/name; work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        res = run_notebook(fn, samples, work)
        bad = [r for r in res if not r[1]]
        total_bad += len(bad)
        print(f'{name}: {len(res) - len(bad)} of {len(res)} code cells ran ({time.perf_counter() - t0:.0f} s)')
        for i, ok, secs, err, code in bad:
            print(f'  cell {i}: {err}')
            if a.show_code: print('    ' + code.replace('\n', '\n    '))
    print(f'course: {total_bad} failing cells')
    sys.exit(1 if total_bad else 0)

if __name__ == '__main__': main()
