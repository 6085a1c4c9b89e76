#!/usr/bin/env bash
# Start the Dagster UI and daemon for maskops on 127.0.0.1 with the embedded defaults:
# instance in var/dagster_home (override with DAGSTER_HOME), everything else under var/.
# The code location is workspace.yaml's (maskops_assets.definitions:defs, which loads the
# maskops_assets/defs folder); resource settings (MASKOPS_STORE_*, MLFLOW_*, ...) are read from
# this environment when each run starts.
# Usage: scripts/dagster-dev.sh [extra `dagster dev` args, e.g. -p 3001]
set -euo pipefail
cd "$(dirname "$0")/.."
export MASKOPS_HOME=${MASKOPS_HOME:-$PWD/var}
export DAGSTER_HOME=${DAGSTER_HOME:-$MASKOPS_HOME/dagster_home}
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
echo "[dagster-dev] DAGSTER_HOME=$DAGSTER_HOME MASKOPS_HOME=$MASKOPS_HOME"
exec .venv/bin/dagster dev -h 127.0.0.1 -w workspace.yaml "$@"
