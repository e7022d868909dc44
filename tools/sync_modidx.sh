#!/usr/bin/env bash
# Commit a `transfer_nb/_modidx.py` that matches the committed notebooks only (uncommitted work-in-progress
# notebooks in the working tree would otherwise leak into it): export in a clean clone of HEAD, commit there,
# fast-forward here. Usage: bash tools/sync_modidx.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
tmp=$(mktemp -d); git clone -q "$root" "$tmp/c"
( cd "$tmp/c" && "$root/.venv/bin/nbdev-export" && git add transfer_nb/_modidx.py && \
  { git diff --cached --quiet || git commit -qm "Regenerate the module index"; } )
cp transfer_nb/_modidx.py "$tmp/modidx_work.py" 2>/dev/null || true
git checkout -q -- transfer_nb/_modidx.py 2>/dev/null || true
git fetch -q "$tmp/c" HEAD && git merge -q --ff-only FETCH_HEAD
cp "$tmp/modidx_work.py" transfer_nb/_modidx.py 2>/dev/null || true
rm -rf "$tmp"; git log --oneline -1
