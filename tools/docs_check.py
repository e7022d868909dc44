"""Check the docs pages as the site will show them: the figures and tables each page must have, and no test log.

Runs `nbdev-proc-nbs` (the step of the docs build that turns notebooks into pages: hidden cells dropped, `show_doc`
run) and reads its output in `_proc/`. For each page it
- finds each cell listed in `REQUIRED` (by a piece of its code) and checks that it is on the page with the output it
  must show: an image (a figure) or a table (a DataFrame's HTML, or a Markdown table);
- counts the code lines a reader sees, in the visible code cells that are not exported (nbdev leaves `#| export`
  cells off the page; a `show_doc` cell shows no code): assertion lines (an `assert`, a `test_...(...)` call, with
  all its continuation lines, or a loop or `with` block holding nothing else) against example lines (all other code;
  blank and comment-only lines count as neither), and fails a page that shows more assertions than examples: checks a
  reader does not need belong in hidden cells;
and prints one row per page. Exit status 1 if any page fails. The stored outputs come from `tools/render_outputs.py`.

    python tools/docs_check.py
"""
import ast, json, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# page: [(a piece of the code of the cell, what its output must be)]
REQUIRED = {
    '01a_augment': [("'RandomFlip(p=1)'", 'image')],
    '01b_transforms': [("'side_on (the lesson)'", 'image'), ('diffs.to_frame()', 'table')],
    '01f_data': [('mdata.show_batch(8)', 'image')],
    '90_sample_draw': [('panels = {', 'image')],
    '94_sample_cifar': [('ax.imshow(draw_cifar(k, 32, seed=i))', 'image')],
    '04_lr_finder': [('plot_lr_find(lrs, c, ax=ax)', 'image'), ('learn.sched.plot();', 'image')],
    '05_sgdr': [('plot_sgdr(', 'image'), ('learn.sched.plot_lr();', 'image'), ('learn.sched.plot_loss(', 'image')],
    '03b_schedule': [('plot_schedules(', 'image')],
    '07b_conv_learner': [("timing = pd.DataFrame", 'table'), ("timing['seconds per epoch'].plot.barh(", 'image'),
                         ('sgdr.plot_lr(ax=axs[0], log=True)', 'image'), ('axs[0].plot(rec.iterations, rec.losses', 'image'),
                         ("table['valid loss'].plot.barh(", 'image')],
    '08_progressive_resizing': [('log = fit_sizes(', 'table'), ('def run_progressive', 'table')],
    '09_tta_interpret': [('gains = pd.DataFrame', 'table'), ('plot_confusion_matrix(', 'image'), ('plot_top_losses(', 'image')],
    '10_planet': [('data.show_batch(8)', 'image'), ('scores', 'table'), ('per_class_f2(tta', 'table')],
    '12b_distributed': [("'2 processes, bs 8 each'", 'table'), ('table = pd.DataFrame', 'table')],
    '14_ablation': [('summary.style', 'table'), ('ax.errorbar(', 'image')],
    '03h_learner': [("changes = pd.DataFrame", 'table'), ('learn.sched.plot_loss(', 'image')],
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


HIDDEN = re.compile(r'^#\|\s*(hide\b|export|echo:\s*false|include:\s*false)', re.M)   # cells a reader sees no code of


def is_check(node:ast.stmt)->bool:
    "Is this statement an assertion: `assert`, a `test_...(...)` call, or a `for`/`with`/`if` block of nothing else?"
    if isinstance(node, ast.Assert): return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        f = node.value.func
        return isinstance(f, ast.Name) and f.id.startswith('test_')
    if isinstance(node, (ast.For, ast.With, ast.If)): return all(is_check(n) for n in node.body + getattr(node, 'orelse', []))
    return False


def _first_line(node)->int: return min([node.lineno] + [d.lineno for d in getattr(node, 'decorator_list', [])])

def _header_end(node)->int:
    "Last line of a block statement's header (`for ...:`, `with ...:`, `except ...:`): the line before its body."
    return max(node.lineno, node.body[0].lineno - 1)

def line_kinds(src:str)->dict:
    "Line number -> 'assert' or 'example', for each line of `src` that holds code; any example on a line makes it one."
    code = '\n'.join('' if re.match(r'\s*[%!]', l) else l for l in src.split('\n'))   # IPython magics are not Python
    try: tree = ast.parse(code)
    except SyntaxError: return {i: 'assert' if ASSERTION.match(l) else 'example' for i, l in enumerate(src.split('\n'), 1)}
    kinds = {}
    def mark(first, last, kind):
        for i in range(first, last + 1):
            if kinds.get(i) != 'example': kinds[i] = kind
    def walk(nodes):
        for n in nodes:
            if is_check(n): mark(n.lineno, n.end_lineno, 'assert')
            elif isinstance(n, (ast.For, ast.While, ast.With, ast.If, ast.Try)):   # a mixed block: its header is an example
                mark(n.lineno, _header_end(n), 'example')
                for h in getattr(n, 'handlers', []): mark(h.lineno, _header_end(h), 'example'); walk(h.body)
                walk(n.body); walk(getattr(n, 'orelse', [])); walk(getattr(n, 'finalbody', []))
            else: mark(_first_line(n), n.end_lineno, 'example')
    walk(tree.body)
    return kinds


def line_counts(cells:list)->tuple[int, int]:
    "(assertion lines, example lines) of the code a reader sees: visible, not exported, not a `show_doc` cell."
    asserts = examples = 0
    for c in cells:
        src = ''.join(c['source'])
        if c['cell_type'] != 'code' or HIDDEN.search(src): continue
        lines = src.split('\n')
        for i, kind in line_kinds(src).items():
            s = lines[i - 1].strip()
            if not s or s.startswith('#'): continue
            if kind == 'assert': asserts += 1
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
