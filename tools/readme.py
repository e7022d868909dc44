"""Write README.md from the markdown cells of nbs/index.ipynb (`nbdev-readme` needs Quarto, which these
machines lack). `python tools/readme.py --check` exits 1 when README.md is out of step with the notebook."""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def readme_text() -> str:
    cells = json.loads((root/'nbs'/'index.ipynb').read_text())['cells']
    parts = [''.join(c['source']).strip() for c in cells if c['cell_type'] == 'markdown']
    text = '\n\n'.join(parts) + '\n'
    text = text.replace('](images/', '](nbs/images/')  # figures live beside the notebook
    # the notebook's one-line summary (`> ...` under the title) reads as a quote in Markdown too
    return '<!-- generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file -->\n\n' + text

if __name__ == '__main__':
    want, readme = readme_text(), root/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != want:
            sys.exit('README.md is out of step with nbs/index.ipynb: run `python tools/readme.py`')
    else: readme.write_text(want)
