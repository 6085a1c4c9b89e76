#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv with the whole
# platform + edge + dev set, so `make demo` and `make test` need nothing else.
# Re-runs are cheap: a stamp file records the hash of the files that decide the set.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=${MASKOPS_VENV:-.venv}
STAMP="$VENV/.maskops-installed"
want=$(cat pyproject.toml constraints/*.txt scripts/bootstrap.sh | sha256sum | cut -c1-16)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

# The set is about 8 GB installed (torch on x86_64 is a CUDA build: ~5.5 GB); pip fails half-way
# with "No space left on device" otherwise, so say it first, with the numbers.
need_kb=$((9 * 1024 * 1024))
free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
if [ ! -f "$VENV/.maskops-installed" ] && [ "${free_kb:-0}" -lt "$need_kb" ]; then
  echo "[bootstrap] not enough disk for $VENV: $((free_kb / 1024)) MB free in $(pwd), about 9,216 MB needed" >&2
  echo "[bootstrap] (the platform set is ~8 GB with torch's CUDA build; free some space and re-run)" >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[bootstrap] creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
echo "[bootstrap] installing maskops[platform,edge,dev] into $VENV (first time: a few minutes)"
"$VENV/bin/python" -m pip install --quiet --upgrade pip setuptools wheel
"$VENV/bin/python" -m pip install --progress-bar off -c constraints/platform.txt -e ".[platform,edge,dev]"
# Deliberate override of a transitive pin; see the comments in constraints/overrides.txt.
"$VENV/bin/python" -m pip install --quiet --no-deps -r constraints/overrides.txt
echo "$want" > "$STAMP"
echo "[bootstrap] ready: $VENV"
