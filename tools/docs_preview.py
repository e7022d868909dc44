"""A local preview of docs pages: the processed notebooks as HTML (nbconvert), and a screenshot of each (headless Chromium).

Quarto, which builds the real site, is not installable on every machine; this shows what a page will hold (its prose,
code, figures and tables, hidden cells left out) without it. Run `tools/docs_check.py` (or `nbdev-proc-nbs`) first
so that `_proc/` is up to date. Needs Debian's `chromium` for the screenshots.

    python tools/docs_preview.py 05_sgdr 10_planet --out /tmp/preview     # writes 05_sgdr.html and 05_sgdr.png, ...
"""
import argparse, json, shutil, subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def page_html(name:str, out:Path)->Path:
    "`_proc/name.ipynb` as a standalone HTML page in `out`."
    import nbformat
    from nbconvert import HTMLExporter
    nb = json.loads((ROOT/'_proc'/f'{name}.ipynb').read_text())
    for c in nb['cells']: c.get('metadata', {}).pop('execution', None)   # execnb's timings: not valid nbformat
    html, _ = HTMLExporter().from_notebook_node(nbformat.reads(json.dumps(nb), as_version=4))
    dest = out/f'{name}.html'
    dest.write_text(html)
    return dest


def screenshot(html:Path, width:int=1100, height:int=6000)->Path:
    "A PNG of the page as headless Chromium draws it (`width` x `height` pixels from the top)."
    png = html.with_suffix('.png')
    subprocess.run([shutil.which('chromium') or 'chromium', '--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
                    f'--window-size={width},{height}', f'--screenshot={png}', html.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    return png


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('pages', nargs='+', help='page names, e.g. 05_sgdr')
    ap.add_argument('--out', default='docs_preview'); ap.add_argument('--height', type=int, default=6000)
    a = ap.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    for name in a.pages:
        html = page_html(name, out)
        print(html, screenshot(html, height=a.height) if shutil.which('chromium') else '(no chromium: no screenshot)')


if __name__ == '__main__': main()
