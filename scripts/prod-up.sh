#!/usr/bin/env bash
# Start the production profile on loopback, on one machine (make prod-up): PostgreSQL 15 (Debian's
# package, installed when missing), moto's S3 server as the bucket, the MLflow server (backend in
# Postgres, artifacts in S3), and Dagster as a deployment runs it: a gRPC code server for the
# maskops code location, dagster-daemon and dagster-webserver, each its own process.
#
# Everything lives under $MASKOPS_PROD_DIR (default var/prod): pg/ (the database cluster), run/
# (pid files), logs/, dagster_home/ (deploy/production/dagster.yaml), workspace.yaml and env, the
# settings every process reads. `source var/prod/env` points a shell (dagster CLI, mlflow, dvc,
# maskops) at these servers. Ports are chosen on the first start and kept in env. scripts/prod-down.sh
# stops it all; the Postgres data stays (rm -rf var/prod starts over). moto keeps its bucket in
# memory only: objects are lost at prod-down, so use MinIO or S3 for anything you want to keep
# (docs/production.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PROD=${MASKOPS_PROD_DIR:-$ROOT/var/prod}
BIN=$ROOT/.venv/bin
PG_BIN=${MASKOPS_PG_BIN:-/usr/lib/postgresql/15/bin}
BUCKET=${MASKOPS_PROD_BUCKET:-maskops-prod}
log() { echo "[prod-up] $*"; }
die() { echo "[prod-up] error: $*" >&2; exit 1; }

[ -x "$BIN/dagster" ] || die "no .venv: run make venv first"
mkdir -p "$PROD/run" "$PROD/logs" "$PROD/home"
PROD=$(cd "$PROD" && pwd)
# as root the database server runs as `postgres`, which must be able to reach $PROD/pg
[ "$(id -u)" -ne 0 ] || chmod o+x "$PROD"

# --- PostgreSQL 15 from Debian's packages -------------------------------------------------------
if [ ! -x "$PG_BIN/initdb" ]; then
    log "PostgreSQL 15 not found at $PG_BIN: installing Debian's postgresql-15"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15 \
        || die "could not install postgresql-15 (set MASKOPS_PG_BIN to an existing PostgreSQL 15 bin dir)"
fi
# PostgreSQL refuses to run as root: as root, run the server as Debian's `postgres` user
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

free_port() {  # the preferred port when it is free, else one the kernel picks
    # MASKOPS_PROD_ANY_PORT=1: always one the kernel picks, so profiles started side by side (tests)
    # never both take a preferred port that was free when each looked
    "$BIN/python" - "$1" <<'PY'
import os, socket, sys
preferred = [] if os.environ.get("MASKOPS_PROD_ANY_PORT") == "1" else [int(sys.argv[1])]
for port in (*preferred, 0):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
PY
}

# --- the settings, chosen once and kept in $PROD/env ---------------------------------------------
ENV_FILE=$PROD/env
if [ ! -f "$ENV_FILE" ]; then
    PG_PASSWORD=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(16))')
    PG_PORT=$(free_port 54329); S3_PORT=$(free_port 9100); MLFLOW_PORT=$(free_port 5500)
    GRPC_PORT=$(free_port 4266); WEB_PORT=$(free_port 3300)
    umask 077
    cat >"$ENV_FILE" <<EOF
# The production profile on loopback, written by scripts/prod-up.sh: \`source $ENV_FILE\`.
# Point the same names at a real PostgreSQL, S3 and MLflow to run the profile on them (docs/production.md).
export MASKOPS_PROD_DIR=$PROD
export DAGSTER_HOME=$PROD/dagster_home
export MASKOPS_HOME=$PROD/home
# PostgreSQL: Dagster's run, event-log and schedule storage (database dagster), MLflow's backend
# (mlflow) and the Optuna studies (optuna)
export MASKOPS_PG_HOST=127.0.0.1
export MASKOPS_PG_PORT=$PG_PORT
export MASKOPS_PG_DB=dagster
export MASKOPS_PG_USER=maskops
export MASKOPS_PG_PASSWORD=$PG_PASSWORD
# S3 (moto on loopback): one bucket for the object store, Dagster's logs and values, DVC, MLflow
export AWS_ACCESS_KEY_ID=maskops-local
export AWS_SECRET_ACCESS_KEY=maskops-local
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export MASKOPS_S3_ENDPOINT_URL=http://127.0.0.1:$S3_PORT
export MASKOPS_S3_REGION=us-east-1
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3_PORT
export MLFLOW_S3_ENDPOINT_URL=http://127.0.0.1:$S3_PORT
export MASKOPS_DAGSTER_BUCKET=$BUCKET
export MASKOPS_COMPUTE_LOG_PREFIX=dagster/compute-logs
export MASKOPS_IO_MANAGER=s3
export MASKOPS_IO_BUCKET=$BUCKET
export MASKOPS_IO_PREFIX=dagster/io
export MASKOPS_STORE_KIND=s3
export MASKOPS_STORE_BUCKET=$BUCKET
export MASKOPS_DVC_REMOTE=s3://$BUCKET/dvc
# MLflow server: runs in Postgres, artifacts proxied by the server into s3://$BUCKET/mlflow
export MLFLOW_TRACKING_URI=http://127.0.0.1:$MLFLOW_PORT
export MASKOPS_MLFLOW_UI_URL=http://127.0.0.1:$MLFLOW_PORT
export MASKOPS_MLFLOW_ARTIFACTS=mlflow-artifacts:/maskops
# Optuna: trials of one search in 2 worker processes sharing the study in Postgres
export MASKOPS_OPTUNA_STORAGE=postgresql+psycopg2://maskops:$PG_PASSWORD@127.0.0.1:$PG_PORT/optuna
export MASKOPS_OPTUNA_WORKERS=2
# the Dagster processes
export MASKOPS_PROD_GRPC_PORT=$GRPC_PORT
export MASKOPS_PROD_WEB_PORT=$WEB_PORT
export MASKOPS_PROD_MLFLOW_PORT=$MLFLOW_PORT
export MASKOPS_PROD_S3_PORT=$S3_PORT
EOF
    umask 022
    log "settings written to $ENV_FILE"
fi
# shellcheck disable=SC1090
source "$ENV_FILE"

running() { [ -f "$PROD/run/$1.pid" ] && kill -0 "$(cat "$PROD/run/$1.pid")" 2>/dev/null; }

start() {  # start NAME CMD...: in its own session (prod-down stops the group), log and pid file
    local name=$1; shift
    if running "$name"; then log "$name already running (pid $(cat "$PROD/run/$name.pid"))"; return; fi
    setsid "$@" >>"$PROD/logs/$name.log" 2>&1 < /dev/null &
    echo $! >"$PROD/run/$name.pid"
    log "$name started (pid $!, log $PROD/logs/$name.log)"
}

wait_for() {  # wait_for WHAT SECONDS CMD...: until CMD succeeds, or fail naming WHAT and its log
    local what=$1 seconds=$2; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            die "$what did not come up within ${seconds}s; see $PROD/logs/$what.log"
        fi
        if [ -f "$PROD/run/$what.pid" ] && ! running "$what"; then
            die "$what exited; see $PROD/logs/$what.log"
        fi
        sleep 0.5
    done
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# --- PostgreSQL ----------------------------------------------------------------------------------
PG_DATA=$PROD/pg/data
if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "initdb $PG_DATA"
    mkdir -p "$PROD/pg"
    PWFILE=$PROD/pg/pwfile
    printf '%s\n' "$MASKOPS_PG_PASSWORD" >"$PWFILE"
    [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$PROD/pg"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$MASKOPS_PG_USER" --pwfile="$PWFILE" \
        --auth-host=scram-sha-256 --auth-local=peer -E UTF8 >>"$PROD/logs/postgres.log"
    rm -f "$PWFILE"
fi
if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "postgres already running"
else
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -l "$PROD/pg/postgres.log" \
        -o "-c listen_addresses=127.0.0.1 -p $MASKOPS_PG_PORT -k $PROD/pg" start >/dev/null
    log "postgres started on 127.0.0.1:$MASKOPS_PG_PORT (log $PROD/pg/postgres.log)"
fi
export PGPASSWORD=$MASKOPS_PG_PASSWORD
psql_q() { "$PG_BIN/psql" -h 127.0.0.1 -p "$MASKOPS_PG_PORT" -U "$MASKOPS_PG_USER" -d postgres -tAc "$1"; }
wait_for postgres 60 psql_q "SELECT 1"
for db in dagster mlflow optuna; do
    [ "$(psql_q "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ] || psql_q "CREATE DATABASE $db" >/dev/null
done

# --- S3: moto's server and the bucket ------------------------------------------------------------
start s3 "$BIN/moto_server" -H 127.0.0.1 -p "$MASKOPS_PROD_S3_PORT"
wait_for s3 60 http_ok "$MASKOPS_S3_ENDPOINT_URL/moto-api/"
"$BIN/python" - <<'PY'
import os

import boto3

s3 = boto3.client("s3", endpoint_url=os.environ["MASKOPS_S3_ENDPOINT_URL"], region_name="us-east-1")
bucket = os.environ["MASKOPS_STORE_BUCKET"]
if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
    s3.create_bucket(Bucket=bucket)
PY

# --- MLflow: backend in Postgres, artifacts in S3 (proxied by the server) ------------------------
start mlflow "$BIN/mlflow" server \
    --backend-store-uri "postgresql+psycopg2://$MASKOPS_PG_USER:$MASKOPS_PG_PASSWORD@127.0.0.1:$MASKOPS_PG_PORT/mlflow" \
    --artifacts-destination "s3://$BUCKET/mlflow" --serve-artifacts \
    --host 127.0.0.1 --port "$MASKOPS_PROD_MLFLOW_PORT" --workers 1

# --- Dagster: the code location (gRPC), the daemon and the webserver -----------------------------
mkdir -p "$DAGSTER_HOME"
cp deploy/production/dagster.yaml "$DAGSTER_HOME/dagster.yaml"
cat >"$PROD/workspace.yaml" <<EOF
# written by scripts/prod-up.sh: the maskops code location, served by its own gRPC process
load_from:
  - grpc_server:
      host: 127.0.0.1
      port: $MASKOPS_PROD_GRPC_PORT
      location_name: maskops
EOF
start grpc "$BIN/dagster" api grpc -m maskops_assets.definitions -a defs \
    -h 127.0.0.1 -p "$MASKOPS_PROD_GRPC_PORT" --location-name maskops --working-directory "$ROOT"
wait_for grpc 180 "$BIN/dagster" api grpc-health-check -p "$MASKOPS_PROD_GRPC_PORT"
start daemon "$BIN/dagster-daemon" run -w "$PROD/workspace.yaml"
start webserver "$BIN/dagster-webserver" -h 127.0.0.1 -p "$MASKOPS_PROD_WEB_PORT" -w "$PROD/workspace.yaml"
wait_for mlflow 180 http_ok "$MLFLOW_TRACKING_URI/health"
wait_for webserver 180 http_ok "http://127.0.0.1:$MASKOPS_PROD_WEB_PORT/server_info"

log "up:"
log "  Dagster UI   http://127.0.0.1:$MASKOPS_PROD_WEB_PORT"
log "  MLflow UI    $MLFLOW_TRACKING_URI"
log "  S3 (moto)    $MASKOPS_S3_ENDPOINT_URL  bucket $BUCKET"
log "  PostgreSQL   127.0.0.1:$MASKOPS_PG_PORT  databases dagster, mlflow, optuna (user $MASKOPS_PG_USER)"
log "  code server  grpc://127.0.0.1:$MASKOPS_PROD_GRPC_PORT"
log "settings: source $ENV_FILE; stop: make prod-down"
