#!/usr/bin/env bash
# Runs Mote for local use on embedded storage (chDB, ClickHouse in-process):
# `mote serve` with the demo site of mote.example.yaml (or ./mote.yaml when
# present), data under ./data. Ctrl-C stops it; the data stays for the next
# run. `make run` fetches libchdb.so and GeoLite2 into the cache first.
set -euo pipefail
cd "$(dirname "$0")/../.."

config=${MOTE_CONFIG:-mote.yaml}
[ -f "$config" ] || config=mote.example.yaml

echo "Mote is starting with $config; the banner follows once it serves (Ctrl-C stops it)."
# mote serve -banner prints the tracker tag, a test hit and the dashboard
# URL with the addresses it is really listening on.
exec bin/mote serve -config "$config" -banner
