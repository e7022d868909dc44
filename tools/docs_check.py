"""Check the docs pages as the site will show them: the figures and tables each page must have, and no test log.

Runs `nbdev-proc-nbs` (the step of the docs build that turns notebooks into pages: hidden cells dropped, `show_doc`
run) and reads its output in `_proc/`. For each page it
- finds each cell listed in `REQUIRED` (by a piece of its code) and checks that it is on the page with the output it
  must show: an image (a figure) or a table (a DataFrame's HTML, or a Markdown table);
- counts the code lines a reader sees: assertion lines (`assert ...`, `test_...(...)`) against example lines (all
  other code), and fails a page that shows more assertions than examples: checks a reader does not need belong in
  hidden cells;
and prints one row per page. Exit status 1 if any page fails. The stored outputs come from `tools/render_outputs.py`.

    python tools/docs_check.py
"""
import json, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# page: [(a piece of the code of the cell, what its output must be)]
REQUIRED = {
    '01a_transforms': [("'side_on (the lesson)'", 'image'), ('diffs.to_frame()', 'table'), ("'RandomFlip(p=1)'", 'image')],
    '01d_data': [('mdata.show_batch(8)', 'image')],
    '02e_sample_cifar': [('ax.imshow(draw_cifar(k, 32, seed=i))', 'image')],
    '04_lr_finder': [('plot_lr_find(lrs, c, ax=ax)', 'image'), ('learn.sched.plot();', 'image')],
    '05_sgdr': [('plot_sgdr(', 'image'), ('learn.sched.plot_lr();', 'image'), ('learn.sched.plot_loss(', 'image')],
    '07b_conv_learner': [("timing = pd.DataFrame", 'table')],
    '08_progressive_resizing': [('log = fit_sizes(', 'table'), ('def run_progressive', 'table')],
    '09_tta_interpret': [('gains = pd.DataFrame', 'table'), ('plot_confusion_matrix(', 'image'), ('plot_top_losses(', 'image')],
    '10_planet': [('data.show_batch(8)', 'image'), ('scores', 'table'), ('per_class_f2(tta', 'table')],
    '12b_distributed': [("'2 processes, bs 8 each'", 'table'), ('table = pd.DataFrame', 'table')],
    '14_ablation': [('summary.style', 'table'), ('ax.errorbar(', 'image')],
    '03e_learner': [("changes = pd.DataFrame", 'table')],
    '13_course': [("plt.imshow(skimage.transform.resize(cam", 'image'), ("for name, l in losses.items()", 'image'),
                  ("plots(data.trn_ds.denorm(x)", 'image')],
    '11b_train': [("for ax, f in zip(axs, ['confusion_matrix.png'", 'image'), ("res['stages']", 'table')],
    '10d_report': [('ax = plot_run_lrs(log)', 'image'), ('ax = plot_run_losses(log)', 'image'), ('df = log.epochs_df()', 'table')],
    '11_run': [("res['stages']", 'table')],
}
ASSERTION = re.compile(r'^\s*(assert\b|test_\w*\(|test_fail\()')


def output_kinds(cell:dict)->set:
    "What a code cell shows: 'image' and/or 'table'."
    kinds = set()
    for o in cell.get('outputs', []):
        data = o.get('data', {})
        if any(k.startswith('image/') for k in data): kinds.add('image')
        html, md = ''.join(data.get('text/html', '')), ''.join(data.get('text/markdown', ''))
        if '<table' in html or re.search(r'^\|.*\|\s*$\n^\|\s*:?-{3,}', md, re.M): kinds.add('table')
    return kinds


def line_counts(cells:list)->tuple[int, int]:
    "(assertion lines, example lines) of the code a reader sees; `show_doc` cells (not shown as code) left out."
    asserts = examples = 0
    for c in cells:
        src = ''.join(c['source'])
        if c['cell_type'] != 'code' or re.search(r'^#\|\s*echo:\s*false', src, re.M): continue
        for line in src.split('\n'):
            s = line.strip()
            if not s or s.startswith('#'): continue
            if ASSERTION.match(s): asserts += 1
            else: examples += 1
    return asserts, examples


def check_page(name:str, nb:dict)->list[str]:
    "What is wrong with one processed page (empty: nothing)."
    problems, code = [], [c for c in nb['cells'] if c['cell_type'] == 'code']
    for piece, kind in REQUIRED.get(name, []):
        found = [c for c in code if piece in ''.join(c['source'])]
        if not found: problems.append(f'no visible cell with `{piece}`')
        elif not any(kind in output_kinds(c) for c in found): problems.append(f'the cell with `{piece}` shows no {kind}')
    asserts, examples = line_counts(nb['cells'])
    if asserts > examples: problems.append(f'{asserts} assertion lines shown against {examples} example lines')
    return problems


def main():
    subprocess.run([str(Path(sys.executable).parent/'nbdev-proc-nbs')], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failed = 0
    print(f"{'page':28s} {'images':>6s} {'tables':>6s} {'asserts':>7s} {'examples':>8s}  problems")
    for fn in sorted((ROOT/'_proc').glob('*.ipynb')):
        nb = json.loads(fn.read_text())
        kinds = [output_kinds(c) for c in nb['cells'] if c['cell_type'] == 'code']
        asserts, examples = line_counts(nb['cells'])
        problems = check_page(fn.stem, nb)
        failed += bool(problems)
        print(f"{fn.stem:28s} {sum('image' in k for k in kinds):6d} {sum('table' in k for k in kinds):6d} "
              f"{asserts:7d} {examples:8d}  {'; '.join(problems) or 'ok'}")
    missing = sorted(set(REQUIRED) - {f.stem for f in (ROOT/'_proc').glob('*.ipynb')})
    for name in missing: print(f'{name}: page missing from the processed docs'); failed += 1
    sys.exit(1 if failed else 0)


if __name__ == '__main__': main()
