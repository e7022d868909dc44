"""Measure every GPU claim of the project in one command on a bare GPU machine, or rehearse it on a CPU.

On the GPU machine (PyTorch, torchvision, timm, pandas, scikit-learn, matplotlib there; no internet) the command
1. installs the wheels of `tools/gpu_wheels.txt` from the carried folder `gpu_wheels/` into a scratch folder
   (`pip install --no-index --no-deps --target`), then runs every step with `PYTHONPATH=<scratch>:<repo>`;
2. runs, each with its own time budget (a step that runs out is stopped and reported, and the next one starts):
   `cuda_cells`     `nbdev-test --flags cuda` on each notebook with `#| cuda` cells (12b is left out by default:
                    its cuda cell is the 4000-chip Planet run under torchrun, the `main_job` step's job);
   `fit_throughput` `benchmarks/fit_throughput.py --device cuda`: `learn.fit` against a hand-written loop (bf16 +
                    channels-last), then both through `torch.compile` (compile time in the warm-up run);
   `main_job`       `benchmarks/main_job.py`: the Planet recipe on a 4000-chip sample at 64/128/256 px, wall time,
                    memory and GPU busy fraction per stage, F2, and the loader alone at 256 px with 16 workers
                    against decoding only;
   `ablation`       `benchmarks/ablation.py --setting full` cut to one seed and the rows that fit;
3. writes to `--out` (default `$OUT`): `summary.json`, `summary.md`, one JSON per step and `log.txt` (7 files: the
   device tool returns 8 at most). The whole run stays within `--budget` seconds (default 540, 9 minutes); a smaller
   budget shrinks each step's time and the sample.

    python3 tools/gpu_check.py                           # on the GPU machine (see benchmarks/results/gpu/README.md)
    python3 tools/gpu_check.py --budget 300 --steps fit_throughput,main_job   # a shorter rerun of two steps
    .venv/bin/python tools/gpu_check.py --rehearse       # here: CPU, tiny sizes, and the checks below (.ci/run runs it)

`--rehearse` proves the visit cannot fail for a missing package or an oversized carry: the wheels are installed into
a scratch `--target`; the steps run (tiny, on the CPU) under a Python that sees only the GPU machine's packages (linked
from this environment) plus those wheels; the install closure of the project and nbdev, and every module that the
library, the benchmarks and the cuda notebooks import, must be on the GPU machine or in the wheel list; and the
working tree plus `gpu_wheels/` must stay under the 64 MiB a call carries.
"""
import argparse, ast, csv, importlib.metadata as md, itertools, json, os, re, resource, shlex, signal, subprocess, sys
import tempfile, threading, time
try: import tomllib
except ModuleNotFoundError: from pip._vendor import tomli as tomllib   # Python 3.10
from concurrent.futures import ThreadPoolExecutor
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEEL_LIST, WHEELS = ROOT/'tools'/'gpu_wheels.txt', ROOT/'gpu_wheels'
CARRY_MIB, MAX_OUT_FILES, DEFAULT_BUDGET, CPU_STEP_LIMIT = 64, 8, 540, 400
# the GPU machine's Python packages, from the device tool's KINDS.md ('cuda' image, read 2026-11-17)
GPU_PACKAGES = set(re.sub(r'[-_.]+', '-', n).lower() for n in """absl-py accelerate aiofiles aiohappyeyeballs aiohttp
aiosignal annotated-doc anyio attrs botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy
cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet
filelock flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx
huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib
jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown
markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions
nanobind narwhals networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc
nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse
nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir
onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas
pathspec patsy peft pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo
pygments pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout
pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core
scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six
sortedcontainers statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken
timm tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope
triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp""".split())
SHARES = dict(setup=35, cuda_cells=45, fit_throughput=210, main_job=150, ablation=100)   # seconds of the default budget
SKIP_NOTEBOOKS = {'12b_distributed': "its cuda cell is `transfer-nb planet --n-sample 4000` under torchrun (the main_job "
                  "step's run, minutes) and its CPU cells take ~140 s: add it with --notebooks"}

def canon(name:str)->str: return re.sub(r'[-_.]+', '-', name).lower()

def wanted_wheels()->dict:
    "`{canonical name: version}` of the wheel list."
    lines = [l.split('#')[0].strip() for l in WHEEL_LIST.read_text().splitlines()]
    return {canon(l.split('==')[0]): l.split('==')[1] for l in lines if l}

def wheel_files(folder:Path=WHEELS)->list:
    "The wheel of each listed package in `folder`; a one-line error naming the missing ones."
    have = {(canon(f.name.split('-')[0]), f.name.split('-')[1]): f for f in folder.glob('*.whl')}
    missing = [f'{n}=={v}' for n, v in wanted_wheels().items() if (n, v) not in have]
    if missing: sys.exit(f'{folder}: no wheel for {", ".join(missing)}: run bash tools/download_gpu_wheels.sh')
    return [have[nv] for nv in wanted_wheels().items()]

def install_wheels(site:Path):
    "Install the listed wheels into `site` without an index or dependencies (what the GPU machine can do)."
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--no-compile', '--no-cache-dir',
                    '--disable-pip-version-check', '--target', str(site), *map(str, wheel_files())], check=True)

# --- the rehearsal's checks ----------------------------------------------------------------------------------------
def closure_missing()->list:
    "Distributions that the project's dependencies and nbdev need (recursively, from this environment's metadata) but that neither the GPU machine nor the wheel list provides."
    from packaging.requirements import Requirement
    proj = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']
    todo = [Requirement(r).name for r in proj['dependencies']] + ['nbdev']
    have, seen, bad = GPU_PACKAGES | set(wanted_wheels()), set(), []
    while todo:
        n = canon(todo.pop())
        if n in seen or n in GPU_PACKAGES: continue     # the GPU machine's packages come with their own dependencies
        seen.add(n)
        if n not in have: bad.append(n)
        try: reqs = md.distribution(n).requires or []
        except md.PackageNotFoundError: continue
        todo += [r.name for r in map(Requirement, reqs) if not r.marker or r.marker.evaluate({'extra': ''})]
    return sorted(bad)

def imported_modules(files)->set:
    "Top-level module names imported by the Python files and the code cells of the notebooks in `files`."
    mods = set()
    for f in files:
        srcs = ([''.join(c['source']) for c in json.loads(f.read_text())['cells'] if c['cell_type'] == 'code']
                if f.suffix == '.ipynb' else [f.read_text()])
        for src in srcs:
            src = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!')))
            try: tree = ast.parse(src)
            except SyntaxError: continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import): mods |= {a.name.split('.')[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level: mods.add(node.module.split('.')[0])
    return mods

def unprovided_imports(files)->list:
    "Modules imported by `files` whose distributions are neither on the GPU machine nor in the wheel list."
    dists, have = md.packages_distributions(), GPU_PACKAGES | set(wanted_wheels())
    local = {'transfer_nb', 'data_loading'} | {p.stem for p in (ROOT/'benchmarks').glob('*.py')}
    return sorted(f'{m} ({"/".join(dists[m])})' for m in imported_modules(files) - set(sys.stdlib_module_names) - local
                  if m in dists and not any(canon(d) in have for d in dists[m]))

def carried_mib()->float:
    "MiB that a device call carries: tracked and untracked-not-ignored files, plus gpu_wheels/."
    names = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=ROOT, capture_output=True, check=True).stdout
    files = {ROOT/n for n in names.decode().split('\0') if n} | set(WHEELS.glob('*'))
    return sum(f.stat().st_size for f in files if f.is_file()) / 2**20

def gpu_like_python(tmp:Path)->str:
    "A Python that sees only this environment's copies of the GPU machine's packages (linked into one folder)."
    farm, owners = tmp/'gpu_packages', defaultdict(lambda: defaultdict(set))
    for d in md.distributions():
        base, name = Path(d.locate_file('')), canon(d.metadata['Name'])
        for f in d.files or []:
            p = f.parts
            if len(p) and p[0] not in ('..', '__pycache__'): owners[(base, p[0])][p[1] if len(p) > 1 else ''].add(name)
    for (base, top), subs in owners.items():
        names = set().union(*subs.values())
        if names <= GPU_PACKAGES: (farm/top).parent.mkdir(parents=True, exist_ok=True); (farm/top).symlink_to(base/top)
        elif names & GPU_PACKAGES:          # a folder shared with other packages (a namespace): link the GPU ones' entries
            for sub, ns in subs.items():
                if sub and ns <= GPU_PACKAGES: (farm/top).mkdir(parents=True, exist_ok=True); (farm/top/sub).symlink_to(base/top/sub)
    venv = tmp/'gpu_python'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
    site = next(venv.glob('lib/python3*/site-packages'))
    (site/'gpu_packages.pth').write_text(f'import site; site.addsitedir({str(farm)!r})\n')
    return str(venv/'bin'/'python')

# --- running the steps ---------------------------------------------------------------------------------------------
def kill_group(pgid:int, sig):
    "Send `sig` to the process group that a command started (its own session), if any of it is left."
    try: os.killpg(pgid, sig)
    except ProcessLookupError: pass

class Runner:
    "Runs commands with time limits (each in its own log, appended to `out/log.txt` when it ends); thread-safe."
    def __init__(self, out:Path, tmp:Path, python:str, env:dict, deadline:float):
        self.out, self.tmp, self.python, self.env, self.deadline = out, tmp, python, env, deadline
        self.lock, self.n = threading.Lock(), itertools.count()
    def left(self)->float: return self.deadline - time.monotonic()

    def run(self, argv, timeout:float)->dict:
        "Run `argv` (the step's Python for a leading 'python') for at most `timeout` s; status, wall and CPU seconds, the log's tail."
        argv = [self.python if a == 'python' else str(a) for a in argv]
        log_file, start, status = self.tmp/f'run{next(self.n)}.log', time.monotonic(), None
        with open(log_file, 'w') as log:
            p = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            while not (done := os.wait4(p.pid, os.WNOHANG))[0]:   # wait4: the command's CPU time, its waited-for children's too
                if time.monotonic() - start > timeout:
                    status = 'timeout'; kill_group(p.pid, signal.SIGTERM); time.sleep(2); kill_group(p.pid, signal.SIGKILL)
                    done = os.wait4(p.pid, 0); break
                time.sleep(0.1)
            p.returncode = rc = os.waitstatus_to_exitcode(done[1])
            kill_group(p.pid, signal.SIGKILL)            # what the command left behind: loader workers, torchrun's children
        text = log_file.read_text(errors='replace')
        with self.lock, open(self.out/'log.txt', 'a') as f: f.write(f'\n$ {shlex.join(argv)}   # at most {timeout:.0f} s\n{text}')
        return dict(cmd=shlex.join(argv), status=status or ('ok' if rc == 0 else 'failed'), rc=rc, seconds=round(time.monotonic() - start, 1),
                    cpu_s=round(done[2].ru_utime + done[2].ru_stime, 1), limit_s=round(timeout), log_tail=text[-2500:])

def cuda_notebooks()->dict:
    "`{stem: number of cells that run only with --flags cuda}` over nbs/*.ipynb (nbdev's directives: `#| cuda`)."
    flags = set(tomllib.loads((ROOT/'pyproject.toml').read_text())['tool']['nbdev']['tst_flags'].split())
    found = {}
    for f in sorted((ROOT/'nbs').glob('*.ipynb')):
        cells = [c for c in json.loads(f.read_text())['cells'] if c['cell_type'] == 'code']
        keys = [{m.group(1) for m in re.finditer(r'^#\|\s*([\w-]+)', ''.join(c['source']), re.M)} for c in cells]
        if n := sum('cuda' in k and not (k & flags) - {'cuda'} for k in keys): found[f.stem] = n
    return found

def step_cuda_cells(r:Runner, a, limit:float, tmp:Path)->dict:
    found = cuda_notebooks()
    if not found: return dict(status='failed: no notebook in nbs/ has a `#| cuda` cell', cuda_cells={}, skipped={}, runs={})
    chosen = a.notebooks.split(',') if a.notebooks else [n for n in found if n not in SKIP_NOTEBOOKS]
    if a.cpu: chosen = chosen[:1]   # the rehearsal: nbdev-test itself works with the carried packages (cuda cells skipped)
    res = dict(cuda_cells=found, skipped={n: SKIP_NOTEBOOKS.get(n, 'not chosen') for n in found if n not in chosen}, runs={})
    end = time.monotonic() + limit
    for i, nb in enumerate(chosen):
        # the console script run by the steps' Python (`python -c` would make nbdev-test ignore its arguments and test every notebook)
        argv = ['python', a.site/'bin'/'nbdev-test', f'nbs/{nb}.ipynb', '--timing', '--cell-timing-min', '2'] + ([] if a.cpu else ['--flags', 'cuda'])
        res['runs'][nb] = r.run(argv, (end - time.monotonic()) / (len(chosen) - i))
    res['status'] = 'ok' if all(x['status'] == 'ok' for x in res['runs'].values()) else 'failed'
    return res

def step_fit_throughput(r:Runner, a, limit:float, tmp:Path)->dict:
    s = a.sizes
    base = ['python', 'benchmarks/fit_throughput.py', '--device', s['device'], '--n', s['n'], '--reps', s['reps'],
            '--data', tmp/'planet_fit'] + s['fit_extra']
    end, res = time.monotonic() + limit, {}
    variants = ([('compiled', ['--compile', '--compile-backend', 'eager'])] if a.cpu else   # on the CPU, one run covers both code paths
                [('plain', []), ('compiled', ['--compile', '--no-pipeline', '--reps', max(2, s['reps'] - 1)])])
    for i, (name, extra) in enumerate(variants):
        js = tmp/f'fit_{name}.json'
        res[name] = r.run(base + extra + ['--json', js], (end - time.monotonic()) * (0.4 if i == 0 and len(variants) > 1 else 1))
        if js.exists(): res[name]['results'] = json.loads(js.read_text())
    res['status'] = 'ok' if all(x['status'] == 'ok' for x in res.values()) else 'failed'
    return res

def step_main_job(r:Runner, a, limit:float, tmp:Path)->dict:
    s, js = a.sizes, tmp/'main_job.json'
    res = r.run(['python', 'benchmarks/main_job.py', '--n', s['n'], '--sizes', s['main_sizes'], '--data', tmp/'planet_main',
                 '--loader-sz', s['loader_sz'], '--loader-workers', s['loader_workers'], '--json', js] + s['main_extra'], limit)
    if js.exists(): res['results'] = json.loads(js.read_text())
    return res

def step_ablation(r:Runner, a, limit:float, tmp:Path)->dict:
    s, out = a.sizes, tmp/'ablation'
    res = r.run(['python', 'benchmarks/ablation.py', '--setting', s['abl_setting'], '--seeds', 1, '--rows', s['abl_rows'],
                 '--out', out, '--data', tmp/'planet_ablation'] + s['abl_extra'], limit)
    res['cut'] = (f"--setting {s['abl_setting']} {shlex.join(map(str, s['abl_extra']))}: 1 seed (the setting has 5), "
                  f"rows {s['abl_rows']} (13 in all)")
    for f in ('runs', 'summary'):
        if (out/f'{f}.csv').exists(): res[f] = list(csv.DictReader(open(out/f'{f}.csv')))
    return res

def sizes_for(a)->dict:
    "What each step runs at: the GPU visit's sizes (shrunk with the budget), or tiny ones on the CPU."
    if a.cpu:
        return dict(device='cpu', n=32, reps=1, fit_extra=['--sz', 32, '--bs', 8, '--workers', 0], main_sizes='32',
                    loader_sz=32, loader_workers=2, main_extra=['--cpu', '--bs', 8, '--workers', 0, '--cycles', 1],
                    abl_setting='tiny', abl_rows='baseline,no_tta', abl_extra=[])
    f = min(1., a.budget / DEFAULT_BUDGET)
    return dict(device='cuda', n=max(400, int(round(4000 * f, -2))), reps=3 if f > 0.6 else 2, fit_extra=[], main_sizes='64,128,256',
                loader_sz=256, loader_workers=16, main_extra=[],
                abl_setting='full', abl_rows='baseline,scratch,no_tta,fixed_0.2,chosen_th' if f > 0.75 else 'baseline,no_tta,fixed_0.2,chosen_th',
                abl_extra=[] if f > 0.75 else ['--sizes', '64,128'])

PROBE = """import json, os, platform, sys, importlib.metadata as md, torch
import transfer_nb.all, nbdev, execnb, fastprogress, IPython, ipywidgets
from transfer_nb.models import efficientnet_lite0
efficientnet_lite0(pretrained=True)   # the carried ImageNet weights load
cuda = torch.cuda.is_available()
def version(n):
    try: return md.version(n)
    except md.PackageNotFoundError: return None
try: import subprocess; driver = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'], capture_output=True, text=True, timeout=20).stdout.strip()
except Exception: driver = None
info = dict(driver=driver, python=platform.python_version(), torch=torch.__version__, cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
            device=torch.cuda.get_device_name() if cuda else None, gpus=torch.cuda.device_count(), cpus=os.cpu_count(),
            packages={n: version(n) for n in ['torchvision', 'timm', 'numpy', 'pandas', 'scikit-learn', 'pillow', 'scipy',
                                              'fastcore', 'fastprogress', 'nbdev', 'execnb', 'ipython', 'nvidia-ml-py']})
open(sys.argv[1], 'w').write(json.dumps(info))"""

def setup(a, tmp:Path)->tuple:
    "Install the wheels into a scratch folder; the Python and environment of the steps, and the setup step's record."
    t, res = time.monotonic(), {}
    site = a.site = tmp/'site'
    install_wheels(site)
    res['wheels'], res['install_s'] = len(wanted_wheels()), round(time.monotonic() - t, 1)
    python = sys.executable
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]), PYTHONUNBUFFERED='1',
               PATH=os.pathsep.join([str(site/'bin'), os.environ.get('PATH', '')]))
    if a.rehearse:
        res['carried_mib'] = round(carried_mib(), 1)
        res['closure_missing'] = closure_missing()
        nbs = [ROOT/'nbs'/f'{n}.ipynb' for n in cuda_notebooks()]
        res['imports_missing'] = unprovided_imports([*(ROOT/'transfer_nb').glob('*.py'), *(ROOT/'transfer_nb').glob('*/*.py'),
                                                      *(ROOT/'benchmarks').glob('*.py'), Path(__file__), *nbs])
        res['checks_s'] = round(time.monotonic() - t - res['install_s'], 1)
        python = gpu_like_python(tmp)
        env.update(TORCH_HOME=str(tmp/'torch_home'), HF_HOME=str(tmp/'hf_home'))   # no cached weights to lean on
    if a.cpu: env['OMP_NUM_THREADS'] = '1'      # two steps at a time share the cores (idle threads would spin)
    res['seconds'] = round(time.monotonic() - t, 1)
    return python, env, res

def checks_failed(res:dict)->list:
    "The setup's failed checks, one line each."
    bad = []
    if res.get('carried_mib', 0) >= CARRY_MIB: bad.append(f"the carry is {res['carried_mib']} MiB, over {CARRY_MIB}")
    if res.get('closure_missing'): bad.append(f"needed but neither on the GPU machine nor in {WHEEL_LIST.name}: {res['closure_missing']}")
    if res.get('imports_missing'): bad.append(f"imported but neither on the GPU machine nor in {WHEEL_LIST.name}: {res['imports_missing']}")
    if (st := res.get('probe', {}).get('status', 'ok')) != 'ok': bad.append(f'the probe (imports, weights, device) {st} (see log.txt)')
    return bad

def markdown(summary:dict)->str:
    "The summary as a short report: environment, each step's status and its main figures."
    e, st = summary.get('env', {}), summary['steps']
    lines = [f"# GPU check: {e.get('device') or 'CPU rehearsal'}", '',
             f"`{summary['command']}`: {summary['seconds']:.0f} s of a {summary['budget_s']:.0f} s budget ({summary['cpu_seconds']:.0f} CPU s), {summary['date']}", '',
             f"Python {e.get('python')}, torch {e.get('torch')} (CUDA {e.get('cuda')}, cuDNN {e.get('cudnn')}, driver {e.get('driver')}), {e.get('gpus')} GPU(s), "
             f"{e.get('cpus')} CPUs; " + ', '.join(f'{k} {v}' for k, v in (e.get('packages') or {}).items()), '',
             '| step | status | seconds | limit |', '|---|---|---|---|']
    for name, r in st.items():
        runs = [r] if 'cmd' in r else [v for v in r.get('runs', r).values() if isinstance(v, dict) and 'cmd' in v]
        lines.append(f"| {name} | {r.get('status')} | {sum(x['seconds'] for x in runs):.0f} | {sum(x['limit_s'] for x in runs)} |")
    if c := st.get('cuda_cells'):
        lines += ['', f"cuda cells per notebook: {c['cuda_cells']}; run: " + ', '.join(f"{n} {x['status']} ({x['seconds']:.0f} s)" for n, x in c['runs'].items())]
        lines += [f'- {n} left out: {why}' for n, why in c['skipped'].items()]
    for name, x in (st.get('fit_throughput') or {}).items():
        if isinstance(x, dict) and (f := x.get('results')):
            t = f['training']
            lines += ['', f"fit_throughput ({name}, {f['precision']}, {f['sz']} px, bs {f['bs']}, {f['workers']} workers): learn.fit "
                      f"{t['learn.fit']['median_img_s']} img/s, hand loop {t['hand-written loop']['median_img_s']} img/s, ratio "
                      f"{t['ratio_median']} (goal >= 0.95: {'met' if f['goal_met'] else 'NOT met'}); warm-up extra s {f['warmup_extra_seconds']}"
                      + (f"; TorchCompile first batches {f['compile_first_batch_seconds']} s" if f.get('compile_first_batch_seconds') else '')
                      + (f"; pipeline alone {f['pipeline']['data.trn_dl']['median_img_s']} img/s, the fit uses {f['fit_share_of_pipeline_rate']} of it" if 'pipeline' in f else '')]
    if (m := (st.get('main_job') or {}).get('results')):
        lines += ['', f"main job: {m['n']} chips, sizes {m['sizes']}, {m['seconds']} s, F2 {m['f2']:.4f}, GPU busy {m['gpu_busy']}, peak {m['peak_mb']} MB", '',
                  '| phase | seconds | peak MB | GPU busy |', '|---|---|---|---|']
        lines += [f"| {p['phase']} | {p['seconds']} | {p['peak_mb']} | {p.get('gpu_busy', '-')} |" for p in m['phases']]
        if l := m.get('loader'):
            lines += ['', f"loader alone at {l['sz']} px, {l['workers']} workers: {l['pipeline_img_s']} img/s; decoding only "
                      f"{l['decode_only_img_s']} img/s (ratio {l['pipeline_over_decode']}: near 1, the JPEG decoder limits the loader)"]
    if (ab := st.get('ablation')):
        lines += ['', f"ablation, cut to {ab.get('cut')}" + (' (stopped at its time limit: the runs finished before)' if ab['status'] == 'timeout' else '') + ':'] + [f"- {r['row']}: F2 {float(r['f2']):.4f}, {float(r['seconds']):.0f} s"
                                                             for r in ab.get('summary') or ab.get('runs') or []]
    return '\n'.join(lines) + '\n'

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', type=Path, default=None, help='where the JSON, markdown and log go (default: $OUT, else gpu_check_out)')
    p.add_argument('--budget', type=float, default=DEFAULT_BUDGET, help='seconds for the whole run (default: %(default)s)')
    p.add_argument('--steps', default=','.join(list(SHARES)[1:]), help='comma-separated steps to run (default: all)')
    p.add_argument('--notebooks', default=None, help='notebooks (stems) for the cuda_cells step (default: those with cuda cells, but 12b)')
    p.add_argument('--cpu', action='store_true', help='run the steps on the CPU at tiny sizes')
    p.add_argument('--rehearse', action='store_true', help='--cpu, under a Python with only the GPU machine\'s packages, with the checks')
    a = p.parse_args()
    a.cpu |= a.rehearse
    steps = [s for s in a.steps.split(',') if s]
    if bad := [s for s in steps if s not in list(SHARES)[1:]]: p.error(f'unknown steps {bad}: choose from {list(SHARES)[1:]}')
    a.sizes = sizes_for(a)
    t0 = time.monotonic()
    out = a.out or Path(os.environ.get('OUT') or 'gpu_check_out')
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='gpu_check_') as d:
        tmp = Path(d)
        python, env, setup_res = setup(a, tmp)
        r = Runner(out, tmp, python, env, t0 + a.budget - 5)
        (out/'log.txt').write_text(f'gpu_check {shlex.join(sys.argv[1:])}\n')
        setup_res['probe'] = r.run(['python', '-c', PROBE, tmp/'env.json'], 120)
        env_info = json.loads((tmp/'env.json').read_text()) if (tmp/'env.json').exists() else {}
        summary = dict(command='python3 tools/gpu_check.py ' + shlex.join(sys.argv[1:]), budget_s=a.budget, env=env_info,
                       date=time.strftime('%Y-%m-%d %H:%M'), setup=setup_res, steps={})
        if not a.cpu and not env_info.get('device'): setup_res['probe']['status'] = 'failed: no CUDA device (use --cpu or --rehearse)'
        bad = checks_failed(setup_res)
        stop = bad and (a.rehearse or 'no CUDA' in setup_res['probe']['status'])   # on a GPU, a failed probe still lets the steps try
        fns = {'cuda_cells': step_cuda_cells, 'fit_throughput': step_fit_throughput, 'main_job': step_main_job, 'ablation': step_ablation}
        def step(name, limit):
            print(f'== {name}: at most {limit:.0f} s', flush=True)
            res = summary['steps'][name] = fns[name](r, a, limit, tmp)
            (out/f'{name}.json').write_text(json.dumps(res, indent=1, default=str))
            print(f"== {name}: {res['status']}", flush=True)
        if stop: pass
        elif a.cpu:                                      # tiny steps, two at a time: the rehearsal proves they run, not how fast
            with ThreadPoolExecutor(2) as ex: list(ex.map(step, steps, [CPU_STEP_LIMIT] * len(steps)))
            summary['steps'] = {n: summary['steps'][n] for n in steps}
        else:                                            # one at a time (GPU timings), each its share of what is left
            for i, name in enumerate(steps):
                later = sum(SHARES[s] for s in steps[i + 1:]) * r.left() / sum(SHARES[s] for s in steps[i:])
                step(name, r.left() - later)
        summary['seconds'] = round(time.monotonic() - t0, 1)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        summary['cpu_seconds'] = round(ru.ru_utime + ru.ru_stime + time.process_time(), 1)   # this process and its commands
        summary['failed'] = bad + [f'step {n}: {s["status"]}' for n, s in summary['steps'].items() if s['status'] != 'ok']
        (out/'summary.json').write_text(json.dumps(summary, indent=1, default=str))
        (out/'summary.md').write_text(markdown(summary))
    files = [f for f in out.rglob('*') if f.is_file()]
    if len(files) > MAX_OUT_FILES: summary['failed'].append(f'{out} holds {len(files)} files: the device tool returns {MAX_OUT_FILES}')
    print((out/'summary.md').read_text())
    print('FAILED: ' + '; '.join(summary['failed']) if summary['failed'] else f'all passed in {summary["seconds"]:.0f} s')
    sys.exit(1 if summary['failed'] else 0)

if __name__ == '__main__': main()
