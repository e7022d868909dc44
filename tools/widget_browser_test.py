"""Browser test of the ipywidgets explorers, where users meet them: in a real Jupyter front end.

What it tests
-------------
`transfer_nb.sgdr.sgdr_explorer()` and `transfer_nb.lr_finder.lr_explorer(learn)` are `ipywidgets.interactive`
widgets whose sliders redraw a matplotlib figure. The notebooks' own checks set slider values from Python, so they
never see what a user sees. This script:

1. writes a small notebook (in a temporary folder) that displays both explorers, the second one over an LR-finder
   run of the tiny learner from `transfer_nb.test_utils`;
2. serves it with Voila (which runs the notebook in a kernel and renders its outputs and widgets) on 127.0.0.1,
   on a free port, without token and without opening a browser;
3. opens the page in headless Chromium through Selenium and, for each explorer:
   - waits until its sliders and its figure (the <img> in the explorer's notebook cell) are rendered,
   - saves a screenshot `<out>/<explorer>_before.png` and the figure itself `<out>/<explorer>_before_figure.png`,
   - focuses one slider's handle and presses the right arrow key, as a user would,
   - checks that the slider's readout changed, then that the figure's image data changed,
   - saves `<out>/<explorer>_after.png` and `<out>/<explorer>_after_figure.png`;
4. prints one line per explorer and exits 0 if every explorer redrew its figure, 1 otherwise (naming the step
   that failed: server did not start, widget never rendered, slider did not move, figure unchanged, ...).

The Voila server (and its kernels) is always stopped at the end, also on failure. The Voila log is kept in
`<out>/voila.log`. A passing run takes about 20 s (2 CPUs), 40 s when Voila needs `CELL_TIMEOUT` (see below);
a failing one up to a minute or two, as every wait is bounded.

What it needs
-------------
- Debian packages: `apt-get install -y chromium chromium-driver` (the browser at /usr/bin/chromium and its
  driver at /usr/bin/chromedriver; Selenium Manager is never asked to download anything);
- PyPI packages in the dev virtualenv: `pip install voila selenium` (tested with voila 0.5.13, selenium 4.51.0),
  next to what transfer_nb already needs (ipywidgets, ipykernel, matplotlib, nbformat).

How to run it
-------------
    .venv/bin/python tools/widget_browser_test.py --out /tmp/widget_shots
    .venv/bin/python tools/widget_browser_test.py --out /tmp/widget_shots --only sgdr
    .venv/bin/python tools/widget_browser_test.py --out /tmp/widget_shots --keep-server   # inspect the page by hand

`--self-test-broken` disconnects the sliders from the figures in the generated notebook (the plotting functions
ignore the slider values); the test must then fail with "figure unchanged" for every explorer.
"""

import argparse
import base64
import hashlib
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
REPO = Path(__file__).resolve().parents[1]
# Python module -> what to pip install to get it
PIP_MODULES = {'selenium': 'selenium', 'voila': 'voila', 'nbformat': 'nbformat', 'ipywidgets': 'ipywidgets',
               'ipykernel': 'ipykernel', 'matplotlib': 'matplotlib', 'transfer_nb': f'-e {REPO}'}

# Bounded waits, in seconds
SERVER_START_TIMEOUT = 30
PAGE_RENDER_TIMEOUT = 120   # kernel start + imports + the tiny LR finder run, on a slow 2-core machine
# Voila waits for each cell's execute_reply with this timeout. With voila 0.5.13, jupyter_client 8.10, pyzmq 27.3
# and ipykernel 7.4 that wait sometimes never wakes up although the reply has arrived (about 1 page load in 3 with
# the lr_explorer cell); with a timeout it wakes up when it expires, finds the reply and goes on. So it must be
# short, yet longer than any of our cells (a few seconds each).
CELL_TIMEOUT = 20
FIGURE_TIMEOUT = 30
READOUT_TIMEOUT = 10
REDRAW_TIMEOUT = 20
STABLE_FOR = 1.0            # the figure must stay the same this long before we call it drawn
POLL = 0.25


class StepFailed(Exception):
    "A step of the test failed; the message says which one and why."


# What each explorer is, how to recognise it on the page, and which slider the test moves
EXPLORERS = {
    'sgdr': dict(name='sgdr_explorer', marker_slider='cycle_mult', slider='cycle_mult', presses=1),
    'lr':   dict(name='lr_explorer', marker_slider='group ratio', slider='lr', presses=5),
}


# ---------------------------------------------------------------- prerequisites

def missing_prerequisites() -> list:
    "Everything the test needs that is not installed, each with the command that installs it."
    missing = []
    if not os.access(CHROMIUM, os.X_OK): missing.append(f'{CHROMIUM} (apt-get install -y chromium)')
    if not os.access(CHROMEDRIVER, os.X_OK): missing.append(f'{CHROMEDRIVER} (apt-get install -y chromium-driver)')
    for module, package in PIP_MODULES.items():
        if importlib.util.find_spec(module) is None:
            missing.append(f'Python module {module} ({sys.executable} -m pip install {package})')
    return missing


# ---------------------------------------------------------------- the notebook

SETUP_CELL = """\
%matplotlib inline
import torch
torch.set_num_threads(1)   # a tiny model: one thread is as fast and leaves the CPU to the browser"""

# Used by --self-test-broken: the figures no longer depend on the sliders, so moving one must not change them
BROKEN_CELL = """\
import transfer_nb.sgdr as _sgdr, transfer_nb.lr_finder as _lr_finder
_plot_sgdr, _show_lr_choice = _sgdr.plot_sgdr, _lr_finder.show_lr_choice
_sgdr.plot_sgdr = lambda *args, **kwargs: _plot_sgdr()
_lr_finder.show_lr_choice = lambda sched, lr, ratio, n_groups=None, ax=None: _show_lr_choice(sched, 1e-3, 3., n_groups, ax)"""

SGDR_CELL = """\
from transfer_nb.sgdr import sgdr_explorer
w_sgdr = sgdr_explorer()   # it displays itself in a kernel"""

LR_CELL = """\
from transfer_nb.test_utils import tiny_scenes, tiny_learner
from transfer_nb.lr_finder import lr_explorer
learn = tiny_learner(tiny_scenes('scenes'), quiet=True, path='.')
_ = learn.lr_find(num_it=60)
w_lr = lr_explorer(learn)   # it displays itself in a kernel"""


def write_notebook(folder: Path, explorers: list, broken: bool) -> Path:
    "The notebook Voila will run: a setup cell, then one cell per explorer."
    import nbformat
    cells = [SETUP_CELL] + ([BROKEN_CELL] if broken else [])
    cells += [{'sgdr': SGDR_CELL, 'lr': LR_CELL}[key] for key in explorers]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')
    path = folder / 'explorers.ipynb'
    nbformat.write(nb, path)
    return path


# ---------------------------------------------------------------- the Voila server

def free_port() -> int:
    "A port nobody listens on right now (the OS picks it)."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_voila(notebook: Path, port: int, log_path: Path) -> subprocess.Popen:
    "Voila serving `notebook`, in its own process group so that it can be stopped with its kernels."
    cmd = [sys.executable, '-m', 'voila', notebook.name, '--no-browser', f'--port={port}',
           '--Voila.ip=127.0.0.1', '--Voila.port_retries=0', '--show_tracebacks=True',
           f'--VoilaExecutor.timeout={CELL_TIMEOUT}']
    log = open(log_path, 'w')
    return subprocess.Popen(cmd, cwd=notebook.parent, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def server_answers(port: int) -> bool:
    "Does the server answer HTTP? (`/api` does not start a kernel, unlike the notebook page.)"
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=2)
    try:
        conn.request('GET', '/api')
        conn.getresponse()
        return True
    except OSError:
        return False
    finally:
        conn.close()


def wait_for_server(proc: subprocess.Popen, port: int, log_path: Path):
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StepFailed(f'server did not start: voila exited with code {proc.returncode}; see {log_path}')
        if server_answers(port): return
        time.sleep(POLL)
    raise StepFailed(f'server did not start: no answer on port {port} after {SERVER_START_TIMEOUT}s; see {log_path}')


def kernel_pids(pid: int) -> list:
    "The kernels Voila started: they run in sessions of their own, so stopping Voila's process group misses them."
    pids = []
    for children in Path(f'/proc/{pid}/task').glob('*/children'):
        try: pids += [int(p) for p in children.read_text().split()]
        except OSError: pass
    return [p for p in pids if 'ipykernel' in command_line(p)]


def command_line(pid: int) -> str:
    try: return Path(f'/proc/{pid}/cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
    except OSError: return ''


def stop_voila(proc: subprocess.Popen):
    "Stop Voila (which shuts its kernels down), politely first, then by force, kernels included."
    if proc.poll() is not None: return
    kernels = kernel_pids(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    for pid in kernels:
        if 'ipykernel' in command_line(pid):   # still there (and still a kernel, not a reused pid)
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- the browser

def start_browser():
    "Headless Chromium through the Debian chromedriver; explicit paths, so Selenium Manager downloads nothing."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1200,1600'):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def load_page(driver, url: str):
    "Open the page; Voila streams it while the kernel runs the cells, so this waits for the whole notebook."
    from selenium.common.exceptions import TimeoutException
    driver.set_page_load_timeout(PAGE_RENDER_TIMEOUT)
    try: driver.get(url)
    except TimeoutException:
        raise StepFailed(f'page did not load in {PAGE_RENDER_TIMEOUT}s (the notebook never finished running?)') from None


def wait_until(condition, timeout: float, failure: str):
    "Poll `condition()` until it returns something truthy; raise `StepFailed(failure)` after `timeout` seconds."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result: return result
        time.sleep(POLL)
    raise StepFailed(f'{failure} (waited {timeout:.0f}s)')


def find_slider(root, description: str):
    "The slider under `root` whose label reads `description`, or None."
    from selenium.webdriver.common.by import By
    for slider in root.find_elements(By.CSS_SELECTOR, '.widget-slider'):
        if slider.find_element(By.CSS_SELECTOR, '.widget-label').text.strip() == description: return slider
    return None


def find_explorer(driver, marker_slider: str):
    "The explorer (`interactive` widget box) that has a slider labelled `marker_slider`, or None."
    from selenium.webdriver.common.by import By
    for box in driver.find_elements(By.CSS_SELECTOR, '.widget-interact'):
        if find_slider(box, marker_slider) is not None: return box
    return None


def explorer_cell(driver, explorer):
    "The notebook cell that shows the explorer: its figure is there, inside the widget's output or next to it."
    return driver.execute_script("return arguments[0].closest('.jp-Cell') || arguments[0];", explorer)


def figure_sources(cell) -> list:
    "The src of every loaded <img> in the cell (the figure, as a data: URI for inline matplotlib)."
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import StaleElementReferenceException
    srcs = []
    try:
        for img in cell.find_elements(By.TAG_NAME, 'img'):
            src = img.get_attribute('src') or ''
            if src and img.get_property('complete') and img.get_property('naturalWidth'): srcs.append(src)
    except StaleElementReferenceException:   # the output was redrawn while we read it: look again next poll
        return []
    return srcs


def figure_is_inside_widget(explorer) -> bool:
    "Is the figure drawn in the explorer's own Output widget (where a redraw replaces it)?"
    from selenium.webdriver.common.by import By
    return bool(explorer.find_elements(By.CSS_SELECTOR, '.widget-output img'))


def digest(srcs: list) -> str:
    return hashlib.sha1('\n'.join(srcs).encode()).hexdigest()[:12]


def wait_for_stable_figure(cell, timeout: float, failure: str, differs_from: str | None = None) -> list:
    "Wait until the cell shows a figure (different from `differs_from` if given) that stays the same `STABLE_FOR` s."
    state = dict(digest=None, since=0.)
    def settled():
        srcs = figure_sources(cell)
        d = digest(srcs) if srcs else None
        if d is None or d == differs_from:
            state['digest'] = None
            return None
        if d != state['digest']: state.update(digest=d, since=time.monotonic())
        return srcs if time.monotonic() - state['since'] >= STABLE_FOR else None
    return wait_until(settled, timeout, failure)


def slider_readout(slider) -> str:
    from selenium.webdriver.common.by import By
    return slider.find_element(By.CSS_SELECTOR, '.widget-readout').text.strip()


def press_right_on_slider(driver, slider, presses: int):
    "Focus the slider's handle and press the right arrow key, as a keyboard user would."
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    handle = slider.find_element(By.CSS_SELECTOR, '.noUi-handle')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
    for _ in range(presses): handle.send_keys(Keys.ARROW_RIGHT)


def save_page_screenshot(driver, element, path: Path):
    "A screenshot of the browser window, scrolled so that `element` is in view."
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", element)
    driver.save_screenshot(str(path))


def save_figure(srcs: list, path: Path):
    "The figure's PNG as the browser received it (a data: URI), for a look at what was compared."
    for src in srcs:
        if src.startswith('data:image/png;base64,'):
            path.write_bytes(base64.b64decode(src.split(',', 1)[1]))
            return


def page_errors(driver) -> str:
    "Error and stderr outputs on the page (Voila shows tracebacks), shortened, to explain a widget that never came."
    from selenium.webdriver.common.by import By
    texts = [e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-mime-type="application/vnd.jupyter.stderr"]')]
    text = '\n'.join(t for t in texts if t.strip())
    return text[-1500:]


# ---------------------------------------------------------------- one explorer

def test_explorer(driver, spec: dict, out: Path, page_loaded_at: float) -> str:
    "Render, move a slider, check the figure changed; return the summary line or raise `StepFailed`."
    name = spec['name']
    remaining = max(5., PAGE_RENDER_TIMEOUT - (time.monotonic() - page_loaded_at))
    try:
        explorer = wait_until(lambda: find_explorer(driver, spec['marker_slider']), remaining,
                              f'{name}: widget never rendered (no sliders with a {spec["marker_slider"]!r} slider)')
    except StepFailed as e:
        errors = page_errors(driver)
        raise StepFailed(f'{e}' + (f'\nerrors on the page:\n{errors}' if errors else '')) from None
    cell = explorer_cell(driver, explorer)
    before = wait_for_stable_figure(cell, FIGURE_TIMEOUT, f'{name}: the sliders rendered but no figure was drawn')
    inside = figure_is_inside_widget(explorer)
    save_page_screenshot(driver, cell, out / f'{name}_before.png')
    save_figure(before, out / f'{name}_before_figure.png')

    slider = find_slider(explorer, spec['slider'])
    if slider is None: raise StepFailed(f'{name}: no slider labelled {spec["slider"]!r}')
    value_before = slider_readout(slider)
    press_right_on_slider(driver, slider, spec['presses'])
    value_after = wait_until(lambda: slider_readout(slider) != value_before and slider_readout(slider), READOUT_TIMEOUT,
                             f'{name}: slider {spec["slider"]} did not move (readout stayed {value_before})')
    where = ('' if inside else "; the figure is not in the explorer's Output widget but in the cell's own output, "
             'so a redraw from the sliders cannot replace it')
    try:
        wait_for_stable_figure(cell, REDRAW_TIMEOUT, f'{name}: figure unchanged after slider '
                               f'{spec["slider"]} {value_before} -> {value_after}{where}',
                               differs_from=digest(before))
    finally:
        value_after = slider_readout(slider)   # the readout may have gone on moving while the kernel redrew
        save_page_screenshot(driver, cell, out / f'{name}_after.png')
        save_figure(figure_sources(cell), out / f'{name}_after_figure.png')
    return f'{name}: slider {spec["slider"]} {value_before} -> {value_after}, figure changed'


# ---------------------------------------------------------------- main

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', required=True, type=Path, help='folder for the screenshots and the Voila log')
    p.add_argument('--keep-server', action='store_true', help='leave Voila running until Ctrl-C, to look by hand')
    p.add_argument('--only', choices=sorted(EXPLORERS), action='append', help='test only this explorer (repeatable)')
    p.add_argument('--self-test-broken', action='store_true', help=argparse.SUPPRESS)
    return p.parse_args()


def run_tests(args, workdir: Path) -> list:
    "Serve the notebook, test each explorer in the browser, print and return (summary line, passed) pairs."
    keys = args.only or list(EXPLORERS)
    notebook = write_notebook(workdir, keys, args.self_test_broken)
    port, log_path = free_port(), args.out / 'voila.log'
    server = start_voila(notebook, port, log_path)
    driver = None
    try:
        wait_for_server(server, port, log_path)
        try: driver = start_browser()
        except Exception as e: raise StepFailed(f'browser did not start: {e}') from None
        url = f'http://127.0.0.1:{port}/'
        load_page(driver, url)
        loaded_at = time.monotonic()
        results = []
        for key in keys:
            try: results.append((test_explorer(driver, EXPLORERS[key], args.out, loaded_at), True))
            except StepFailed as e: results.append((f'FAILED {e}', False))
            print(results[-1][0], flush=True)
        if args.keep_server: wait_for_ctrl_c(url)
        return results
    finally:
        stop_voila(server)   # first: a page load still waiting for Voila would keep `driver.quit()` waiting too
        if driver is not None: driver.quit()


def wait_for_ctrl_c(url: str):
    print(f'Voila is still serving the notebook at {url}; press Ctrl-C (or send SIGTERM) to stop it.', flush=True)
    try:
        while True: time.sleep(1)
    except KeyboardInterrupt:
        pass


def stop_on_sigterm(signum, frame):
    "Turn a SIGTERM (a CI timeout, `kill`) into KeyboardInterrupt, so that the `finally` blocks stop Voila."
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    args = parse_args()
    missing = missing_prerequisites()
    if missing:
        print('Missing prerequisites:\n  ' + '\n  '.join(missing), file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix='widget_browser_test_') as workdir:
        try: results = run_tests(args, Path(workdir))
        except StepFailed as e:
            results = [(f'FAILED {e}', False)]
            print(results[0][0])
    ok = all(passed for _, passed in results)
    print(f'{"passed" if ok else "FAILED"} in {time.monotonic() - start:.0f}s; screenshots in {args.out}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
