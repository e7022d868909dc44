"""Run the notebooks and store their outputs (figures, tables, printed results), so that the docs site shows them.

nbdev's docs build does not run ordinary cells: a page shows the outputs stored in its notebook, as fastai's own
notebooks do. This script makes those outputs reproducibly:
1. runs the notebooks with `nbdev-test --save` (the cells flagged `slow` or `cuda` are skipped, as in CI; a notebook
   is written back only if every cell passed);
2. tidies what was stored: progress bars redrawn with carriage returns are reduced to their final state, terminal
   colour codes are removed, hidden cells (not on the page) keep no outputs, and big PNG figures (grids of photos)
   are stored as JPEG;
3. runs `nbdev-clean` on those notebooks.
`tools/docs_check.py` then checks that every page has the figures and tables it must show.

    python tools/render_outputs.py                           # every notebook
    python tools/render_outputs.py nbs/05_sgdr.ipynb         # some
"""
import base64, io, json, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ANSI = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]')


def final_text(text:str)->str:
    "Terminal output as it ends up on screen: each line's text after its last carriage return, colours removed."
    lines = [ANSI.sub('', l.rsplit('\r', 1)[-1]).rstrip() for l in text.split('\n')]
    return '\n'.join(l for l in lines if l.strip()) + ('\n' if text.endswith('\n') else '')


def as_jpeg(data:dict, limit:int=150_000)->dict:
    "A PNG output bigger than `limit` bytes (grids of photos) re-encoded as JPEG, a fifth of the size, for a lighter repository."
    png = data.get('image/png')
    if png is None or len(''.join(png)) < limit: return data
    from PIL import Image
    im = Image.open(io.BytesIO(base64.b64decode(''.join(png)))).convert('RGB')
    buf = io.BytesIO(); im.save(buf, 'JPEG', quality=85)
    return {('image/jpeg' if k == 'image/png' else k): (base64.b64encode(buf.getvalue()).decode() if k == 'image/png' else v)
            for k, v in data.items()}


def tidy(cell:dict)->dict:
    "One cell's outputs as the page should show them."
    if cell['cell_type'] != 'code': return cell
    if re.match(r'#\|\s*hide\s*$', ''.join(cell['source']).split('\n', 1)[0]): cell['outputs'] = []
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': o['text'] = final_text(''.join(o['text']))
        if 'data' in o: o['data'] = as_jpeg(o['data'])
    cell['outputs'] = [o for o in cell.get('outputs', []) if o.get('output_type') != 'stream' or o['text'].strip()]
    return cell


def main(paths):
    nbs = [Path(p) for p in paths] or sorted((ROOT/'nbs').glob('*.ipynb'))
    args = [str(BIN/'nbdev-test'), '--save', '--n-workers', '2', '--timing'] + ([] if len(nbs) > 1 else [str(nbs[0])])
    if 1 < len(nbs) < len(list((ROOT/'nbs').glob('*.ipynb'))):
        args += ['--file-re', '|'.join(re.escape(p.name) for p in nbs)]
    rc = subprocess.run(args, cwd=ROOT).returncode
    for fn in nbs:
        nb = json.loads(fn.read_text())
        nb['cells'] = [tidy(c) for c in nb['cells']]
        fn.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    for fn in nbs: subprocess.run([str(BIN/'nbdev-clean'), '--fname', str(fn)], cwd=ROOT, check=True)   # only these: others may be being edited
    if rc: sys.exit(f'some notebooks failed (see above): their stored outputs were left as they were')


if __name__ == '__main__': main(sys.argv[1:])
