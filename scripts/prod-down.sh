#!/usr/bin/env bash
# Stop what scripts/prod-up.sh started (make prod-down): the Dagster webserver, daemon and code
# server, MLflow, the S3 server and PostgreSQL, in that order. Each process group is asked to stop
# (SIGTERM) and killed after 30 s. Postgres' data and the settings (var/prod/env) stay for the next
# prod-up; `rm -rf var/prod` starts over.
set -euo pipefail
cd "$(dirname "$0")/.."
PROD=${MASKOPS_PROD_DIR:-$PWD/var/prod}
PG_BIN=${MASKOPS_PG_BIN:-/usr/lib/postgresql/15/bin}
log() { echo "[prod-down] $*"; }
[ -d "$PROD" ] || { log "nothing to stop ($PROD does not exist)"; exit 0; }

stop() {  # each was started with setsid: its pid is its process group, which holds its children
    local name=$1 pidfile=$PROD/run/$1.pid
    [ -f "$pidfile" ] || return 0
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (pid $pid) ignored SIGTERM for 30 s: killing it"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        log "$name stopped (pid $pid)"
    fi
    rm -f "$pidfile"
}

stop webserver
stop daemon
# the code server ignores SIGTERM until its shutdown RPC is called (Dagster 1.13): ask it first
if [ -f "$PROD/run/grpc.pid" ] && [ -f "$PROD/env" ]; then
    # shellcheck disable=SC1091
    port=$(. "$PROD/env" && echo "$MASKOPS_PROD_GRPC_PORT")
    "$PWD/.venv/bin/python" -c "from dagster._grpc.client import DagsterGrpcClient as C; \
C(port=$port, host='127.0.0.1').shutdown_server()" >/dev/null 2>&1 || true
fi
for name in grpc mlflow s3; do stop "$name"; done

if [ -f "$PROD/pg/data/PG_VERSION" ]; then
    if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); else as_pg=(); fi
    if "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PROD/pg/data" status >/dev/null 2>&1; then
        "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PROD/pg/data" -m fast -w stop >/dev/null
        log "postgres stopped"
    fi
fi
log "down (data kept in $PROD; rm -rf $PROD to start over)"
