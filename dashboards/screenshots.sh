#!/usr/bin/env bash
# Regenerates dashboards/screenshots/*.png (make screenshots): 30 days of
# demo traffic into a temporary store, `mote serve` on it (ports PORT and
# PORT+1, default 18280), then Chromium takes the README's views.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18280}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export MOTE_LISTEN=127.0.0.1:$port MOTE_ADMIN_LISTEN=127.0.0.1:$((port + 1)) MOTE_DATA_DIR=$tmp/chdb MOTE_SPOOL_DIR=$tmp/spool
bin/mote demo -config mote.example.yaml --days 30 --visitors 3000 >"$tmp/demo.log" 2>&1
bin/mote serve -config mote.example.yaml >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$((port + 1))/healthz" >/dev/null && break; sleep 0.2; done
node dashboards/testdata/screenshots.mjs "http://127.0.0.1:$((port + 1))" demo dashboards/screenshots
