#!/usr/bin/env bash
# A local Label Studio for maskops, on loopback: `make labelstudio`.
#
# Label Studio's pins clash with the platform's (Django, pydantic, ...), so it gets its own
# virtual environment, .venv-labelstudio, created on first use (a few minutes, once).
# Then: start the server with its data under $MASKOPS_HOME/labelstudio (default var/labelstudio),
# serving the local object store's frames (local file serving), bootstrap a user with a legacy
# token, create the maskops project, and print the URL, the credentials and the two variables
# maskops reads. Ctrl-C stops the server; its data stays for the next start.
#
#   scripts/labelstudio.sh                 start (foreground) and bootstrap
#   scripts/labelstudio.sh --install-only  only make sure .venv-labelstudio exists
#
# Settings (environment): LABEL_STUDIO_PORT (8080), LABEL_STUDIO_USERNAME (admin@maskops.local),
# LABEL_STUDIO_PASSWORD (generated once, kept in the data dir), LABEL_STUDIO_USER_TOKEN (legacy
# token; generated once), LABEL_STUDIO_DATA_DIR, LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (default:
# the local store, $MASKOPS_STORE_ROOT or $MASKOPS_HOME/store).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LABEL_STUDIO_VENV:-$ROOT/.venv-labelstudio}"
LS_PIN='label-studio==1.23.*'

ensure_venv() {
    if [ -x "$VENV/bin/label-studio" ]; then
        return
    fi
    echo "labelstudio: creating $VENV with $LS_PIN (first use only; takes a few minutes)"
    python3.11 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --progress-bar off "$LS_PIN"
    echo "labelstudio: installed $("$VENV/bin/label-studio" version 2>/dev/null | head -n 1 || echo "$LS_PIN")"
}

ensure_venv
if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi

HOME_DIR="${MASKOPS_HOME:-$ROOT/var}"
DATA_DIR="${LABEL_STUDIO_DATA_DIR:-$HOME_DIR/labelstudio}"
PORT="${LABEL_STUDIO_PORT:-8080}"
USERNAME="${LABEL_STUDIO_USERNAME:-admin@maskops.local}"
DOC_ROOT="${LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT:-${MASKOPS_STORE_ROOT:-$HOME_DIR/store}}"
mkdir -p "$DATA_DIR" "$DOC_ROOT/samples"
DOC_ROOT="$(cd "$DOC_ROOT" && pwd)"

# Password and legacy token: from the environment, else generated once and kept (mode 600).
SECRETS="$DATA_DIR/maskops-credentials"
if [ -f "$SECRETS" ]; then
    # shellcheck disable=SC1090
    . "$SECRETS"
fi
PASSWORD="${LABEL_STUDIO_PASSWORD:-${SAVED_PASSWORD:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')}}"
TOKEN="${LABEL_STUDIO_USER_TOKEN:-${SAVED_TOKEN:-$(python3 -c 'import secrets; print(secrets.token_hex(20))')}}"
umask 077
printf 'SAVED_PASSWORD=%q\nSAVED_TOKEN=%q\n' "$PASSWORD" "$TOKEN" > "$SECRETS"
umask 022

URL="http://127.0.0.1:$PORT"
export LOCAL_FILES_SERVING_ENABLED=true
export LOCAL_FILES_DOCUMENT_ROOT="$DOC_ROOT"
export LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true   # the bootstrap token below is a legacy token
export LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true
# no calls home from a review server on loopback: version check, analytics, error reporting
export LATEST_VERSION_CHECK=false COLLECT_ANALYTICS=false SENTRY_DSN="" FRONTEND_SENTRY_DSN=""

# Label Studio moves to another port when its own is taken; say so instead of talking to the wrong server.
if curl -s -o /dev/null --max-time 2 "$URL/"; then
    echo "labelstudio: something already answers on $URL (another Label Studio?); stop it or set LABEL_STUDIO_PORT" >&2
    exit 1
fi
echo "labelstudio: starting Label Studio on $URL (data in $DATA_DIR, frames from $DOC_ROOT)"
"$VENV/bin/label-studio" start --no-browser --internal-host 127.0.0.1 --port "$PORT" \
    --data-dir "$DATA_DIR" --username "$USERNAME" --password "$PASSWORD" --user-token "$TOKEN" \
    --enable-legacy-api-token --log-level WARNING > "$DATA_DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' INT TERM EXIT

printf 'labelstudio: waiting for %s/health ' "$URL"
for _ in $(seq 1 300); do
    if curl -fs "$URL/health" > /dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$SERVER" 2>/dev/null; then
        echo; echo "labelstudio: the server exited; its log: $DATA_DIR/server.log" >&2
        tail -n 20 "$DATA_DIR/server.log" >&2
        exit 1
    fi
    printf '.'
    sleep 1
done
echo
curl -fs "$URL/health" > /dev/null || { echo "labelstudio: no answer after 300 s; see $DATA_DIR/server.log" >&2; exit 1; }

PROJECT_LINE=""
if [ -x "$ROOT/.venv/bin/python" ]; then
    PROJECT_LINE="$(LABEL_STUDIO_URL="$URL" LABEL_STUDIO_API_KEY="$TOKEN" \
        LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT="$DOC_ROOT" MASKOPS_STORE_ROOT="$DOC_ROOT" \
        "$ROOT/.venv/bin/python" -m maskops_assets.cli -q labelstudio setup | tail -n 1)"
fi

cat <<EOF

Label Studio is running: $URL
  sign in as   $USERNAME
  password     $PASSWORD
  ${PROJECT_LINE:-project      created by the labeling_tasks asset (run 'make venv' for the maskops CLI)}

Connect maskops to it (e.g. before 'make ui'):
  export LABEL_STUDIO_URL=$URL
  export LABEL_STUDIO_API_KEY=$TOKEN    # legacy token; a personal access token works too
  export LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=$DOC_ROOT

Ctrl-C stops the server (data kept in $DATA_DIR).
EOF
wait "$SERVER"
