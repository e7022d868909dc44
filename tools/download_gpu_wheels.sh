#!/usr/bin/env bash
# Download exactly the wheels listed in tools/gpu_wheels.txt, for the GPU machine (Linux x86-64, CPython 3.12), into
# gpu_wheels/ (ignored by git; a `run` call carries it: carry ["gpu_wheels"]). Wheels in the folder that the list does
# not name are deleted, so that `pip install gpu_wheels/*.whl` never sees two versions of one package.
#     bash tools/download_gpu_wheels.sh [DEST]        # PYTHON=... picks the interpreter whose pip downloads
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-gpu_wheels}
PY=${PYTHON:-python3}
LIST=tools/gpu_wheels.txt
mapfile -t reqs < <(grep -v '^\s*#' "$LIST" | grep -v '^\s*$')
mkdir -p "$DEST"
plats=()
for p in manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_24_x86_64 manylinux_2_27_x86_64 manylinux_2_28_x86_64 manylinux_2_31_x86_64 manylinux_2_34_x86_64 any; do
  plats+=(--platform "$p")
done
"$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${plats[@]}" -d "$DEST" "${reqs[@]}" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
# keep only the listed versions: wheel file names start with `name-version-` (name with '_' for '-' and '.')
keep=()
for r in "${reqs[@]}"; do n=${r%%==*}; v=${r##*==}; keep+=("$(echo "$n" | tr 'A-Z.-' 'a-z__')-$v-"); done
n_kept=0
for f in "$DEST"/*; do
  b=$(basename "$f" | tr 'A-Z' 'a-z'); ok=0
  for k in "${keep[@]}"; do [[ "$b" == "$k"*.whl ]] && { ok=1; break; }; done
  if [ $ok -eq 1 ]; then n_kept=$((n_kept + 1)); else echo "removing $f (not in $LIST)"; rm -rf "$f"; fi
done
if [ "$n_kept" -ne "${#reqs[@]}" ]; then echo "expected ${#reqs[@]} wheels in $DEST, found $n_kept" >&2; exit 1; fi
echo "$n_kept wheels in $DEST ($(du -sm "$DEST" | cut -f1) MiB)"
