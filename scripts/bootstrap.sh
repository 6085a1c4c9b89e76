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
