#!/usr/bin/env bash
# Runs Mote for local use on embedded storage (chDB, ClickHouse in-process):
# `mote serve` with the demo site of mote.example.yaml (or ./mote.yaml when
# present), data under ./data. Ctrl-C stops it; the data stays for the next
# run. `make run` fetches libchdb.so and GeoLite2 into the cache first.
set -euo pipefail
cd "$(dirname "$0")/../.."

config=${MOTE_CONFIG:-mote.yaml}
[ -f "$config" ] || config=mote.example.yaml

# The banner is literal text (a quoted heredoc): its examples are shown,
# never run. Only the config file's name is filled in, by printf.
printf '\nMote is starting with %s (embedded storage under data/).\n' "$config"
cat <<'MSG'
  tracker:   <script defer data-site="demo" src="http://localhost:8080/m.js"></script>
  pixel:     <img src="http://localhost:8080/p.gif?s=demo&u=http%3A%2F%2Flocalhost%2F" alt="">
  beacon:    curl -A 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36' -H 'Content-Type: text/plain' -d '{"s":"demo","n":"pageview","u":"http://localhost/"}' http://localhost:8080/api/event
  dashboard: http://127.0.0.1:8081/
  metrics:   http://127.0.0.1:8081/metrics
  demo data: stop with Ctrl-C, run `make demo` (30 days of synthetic traffic), then `make run` again

MSG
exec bin/mote serve -config "$config"
