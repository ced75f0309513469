#!/usr/bin/env bash
# Compares `mote serve` (spool on, real ClickHouse behind it) with the bare
# fasthttp ceiling (bench/ceiling), and with that ceiling fsyncing each
# request in groups before answering (-durable), under the same wrk load on
# loopback, one after the other, and prints a Markdown table for
# bench/BENCHMARKS.md.
#
#   bench/run.sh                 # 20 s per run, 64 connections, 2 wrk threads
#   DURATION=30s CONNS=128 bench/run.sh
#   ENGINE=embedded bench/run.sh # mote on chDB in-process instead of a server
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
CH_PORT=${CH_PORT:-19000}
ENGINE=${ENGINE:-clickhouse}
. bench/lib.sh

go build -o "$work/ceiling" ./bench/ceiling
go build -o "$work/mote" ./cmd/mote
go build -o "$work/clickhouse-dev" ./internal/testenv/cmd/clickhouse-dev

# run_wrk NAME PID URL [SCRIPT]: load the server, print one table row.
run_wrk() {
	local name=$1 pid=$2 url=$3 script=${4:-bench/pixel.lua} out
	wrk -t"$THREADS" -c"$CONNS" -d5s -s "$script" "$url" >/dev/null # warm-up
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$script" "$url")
	local rps p50 p99 errors rss
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p50=$(awk '$1=="50%" {print $2}' <<<"$out")
	p99=$(awk '$1=="99%" {print $2}' <<<"$out")
	errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); errors=${errors:-0}
	rss=$(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' /proc/"$pid"/status)
	printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "$errors" "$rss"
	echo "$rps" >"$work/$name.rps"
}

echo "| server | requests/s | p50 | p99 | non-2xx | peak RSS |"
echo "| --- | --- | --- | --- | --- | --- |"

"$work/ceiling" -addr 127.0.0.1:18080 & pids+=($!)
wait_port 18080
run_wrk ceiling "${pids[-1]}" http://127.0.0.1:18080
kill "${pids[-1]}"

# The same ceiling answering each request only after its URI is fsynced in
# groups, next to where mote's spool goes: what durability alone costs.
mkdir -p "$work/durable"
"$work/ceiling" -addr 127.0.0.1:18083 -durable "$work/durable" & pids+=($!)
wait_port 18083
run_wrk ceiling-durable "${pids[-1]}" http://127.0.0.1:18083
kill "${pids[-1]}"

if [ "$ENGINE" = clickhouse ]; then
	"$work/clickhouse-dev" -dir "$work/ch" -port "$CH_PORT" >"$work/ch.log" 2>&1 & pids+=($!)
	wait_port "$CH_PORT"
	storage="{engine: clickhouse, clickhouse: {dsn: \"clickhouse://127.0.0.1:$CH_PORT/bench\"}}"
else
	storage="{engine: embedded, embedded: {data_dir: \"$work/chdb\"}}"
fi
cat >"$work/mote.yaml" <<YAML
collector: {listen: "127.0.0.1:18081"}
admin: {listen: "127.0.0.1:18082"}
storage: $storage
spool: {dir: "$work/spool"}
log_level: warn
sites: [{id: demo, hostnames: [example.com]}]
YAML
# The email campaign that bench/open.lua opens, created before serve so
# that its first campaign refresh finds it.
"$work/mote" campaign create -config "$work/mote.yaml" --site demo --name bench --id bench >/dev/null
"$work/mote" serve -config "$work/mote.yaml" & pids+=($!)
wait_port 18081
sleep 2
rest=$(awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' /proc/"${pids[-1]}"/status)
run_wrk "mote" "${pids[-1]}" http://127.0.0.1:18081
run_wrk "mote-open" "${pids[-1]}" http://127.0.0.1:18081 bench/open.lua
# Every accepted hit must reach storage: wait (up to a minute) for the
# batcher to catch up, then report both counts.
metric() { curl -s http://127.0.0.1:18082/metrics | awk -v m="$1" '$1 == m {printf "%d", $2}'; }
accepted=$(metric mote_hits_accepted_total)
for _ in $(seq 1 120); do
	stored=$(metric mote_rows_stored_total)
	[ "$stored" = "$accepted" ] && break
	sleep 0.5
done

ratio=$(awk -v a="$(cat "$work/mote.rps")" -v b="$(cat "$work/ceiling.rps")" 'BEGIN {printf "%.2f", a/b}')
echo
open_ratio=$(awk -v a="$(cat "$work/mote-open.rps")" -v b="$(cat "$work/ceiling.rps")" 'BEGIN {printf "%.2f", a/b}')
durable=$(awk -v a="$(cat "$work/ceiling-durable.rps")" -v b="$(cat "$work/ceiling.rps")" 'BEGIN {printf "%.2f", a/b}')
mote_durable=$(awk -v a="$(cat "$work/mote.rps")" -v b="$(cat "$work/ceiling-durable.rps")" 'BEGIN {printf "%.2f", a/b}')
echo "durable ceiling / ceiling = $durable, mote / durable ceiling = $mote_durable"
echo "mote / ceiling = $ratio, mote email opens (/o/) / ceiling = $open_ratio ($CONNS connections, $THREADS wrk threads, $DURATION, $ENGINE storage; mote accepted $accepted hits and stored $stored rows; RSS at rest $rest)"
