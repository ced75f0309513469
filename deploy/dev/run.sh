#!/usr/bin/env bash
# Runs Mote for local use: a ClickHouse server on 127.0.0.1:9000 (one that
# already answers there is used as it is; otherwise Debian's clickhouse-server
# is started with its data under ./data/clickhouse) and `mote serve` with the
# demo site of mote.example.yaml. Ctrl-C stops both; the data stays for the
# next run. The embedded chDB engine will replace the separate server.
set -euo pipefail
cd "$(dirname "$0")/../.."

port=9000
config=${MOTE_CONFIG:-mote.yaml}
[ -f "$config" ] || config=mote.example.yaml

ch_pid=""
cleanup() { [ -n "$ch_pid" ] && kill "$ch_pid" 2>/dev/null && wait "$ch_pid" 2>/dev/null; true; }
trap cleanup EXIT INT TERM

if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
	echo "using the ClickHouse server already listening on 127.0.0.1:$port"
else
	mkdir -p data/clickhouse
	go build -o bin/clickhouse-dev ./internal/testenv/cmd/clickhouse-dev
	bin/clickhouse-dev -dir data/clickhouse -port "$port" &
	ch_pid=$!
	for _ in $(seq 1 120); do
		(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
		kill -0 "$ch_pid" 2>/dev/null || { echo "ClickHouse did not start" >&2; exit 1; }
		sleep 0.5
	done
fi

cat <<MSG

Mote is starting with $config.
  pixel:    <img src="http://localhost:8080/p.gif?s=demo&u=http%3A%2F%2Flocalhost%2F" alt="">
  beacon:   curl -H 'Content-Type: text/plain' -d '{"s":"demo","n":"pageview","u":"http://localhost/"}' http://localhost:8080/api/event
  metrics:  http://127.0.0.1:8081/metrics
  rows:     clickhouse-client --query 'SELECT ts, kind, hostname, pathname FROM mote.events ORDER BY ts DESC LIMIT 10'

MSG
bin/mote serve -config "$config"
