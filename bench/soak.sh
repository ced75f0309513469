#!/usr/bin/env bash
# Soak test: `mote serve` (ClickHouse server behind it, spool on) under wrk
# at half of its measured maximum for DURATION, in SEGMENT-long wrk runs so
# that latency is seen per segment; /metrics is sampled every SAMPLE_EVERY
# seconds (RSS, goroutines, open files, spool backlog). The summary says
# whether RSS, goroutines and open files stayed flat and p99 stayed within
# 2x of the first segment's, and whether every accepted hit was stored.
#
#   bench/soak.sh                          # 10 minutes (make soak)
#   DURATION=60 SEGMENT=20 bench/soak.sh   # a one-minute check
#
# DURATION and SEGMENT are seconds. The summary is printed and written to
# bench/results/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
SEGMENT=${SEGMENT:-60}
MEASURE=${MEASURE:-10}
CONNS=${CONNS:-100}
THREADS=${THREADS:-2}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
CH_PORT=${CH_PORT:-19100}
PORT=${PORT:-18181}
ADMIN_PORT=${ADMIN_PORT:-18182}
. bench/lib.sh

go build -o "$work/mote" ./cmd/mote
go build -o "$work/clickhouse-dev" ./internal/testenv/cmd/clickhouse-dev

metric() { # metric NAME: one unlabelled sample from /metrics
	curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | awk -v m="$1" '$1 == m {printf "%.0f", $2}'
}
ms() { # wrk latency (850.00us, 1.20ms, 1.01s) in milliseconds
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) printf "%.3f", substr(v, 1, length(v)-2) / 1000
		else if (v ~ /ms$/) printf "%.3f", substr(v, 1, length(v)-2)
		else if (v ~ /s$/) printf "%.3f", substr(v, 1, length(v)-1) * 1000
		else printf "%s", v }'
}

"$work/clickhouse-dev" -dir "$work/ch" -port "$CH_PORT" >"$work/ch.log" 2>&1 & pids+=($!)
wait_port "$CH_PORT"
cat >"$work/mote.yaml" <<YAML
collector: {listen: "127.0.0.1:$PORT"}
admin: {listen: "127.0.0.1:$ADMIN_PORT"}
storage: {engine: clickhouse, clickhouse: {dsn: "clickhouse://127.0.0.1:$CH_PORT/soak"}}
spool: {dir: "$work/spool"}
log_level: warn
sites: [{id: demo, hostnames: [example.com]}]
YAML
"$work/mote" serve -config "$work/mote.yaml" & pids+=($!)
mote_pid=${pids[-1]}
wait_port "$PORT"
url="http://127.0.0.1:$PORT"

# The maximum: wrk without pacing, after a warm-up.
wrk -t"$THREADS" -c"$CONNS" -d5s -s bench/pixel.lua "$url" >/dev/null
max=$(wrk -t"$THREADS" -c"$CONNS" -d"${MEASURE}s" -s bench/pixel.lua "$url" | awk '/Requests\/sec/ {printf "%.0f", $2}')
target=$((max / 2))
delay=$(awk -v c="$CONNS" -v r="$target" 'BEGIN {d = c * 1000 / r; printf "%d", (d < 1 ? 1 : d)}')
echo "maximum $max req/s; soaking at ~$target req/s ($CONNS connections, ${delay} ms between requests per connection) for ${DURATION}s"

# Sampler: time, RSS, goroutines, open fds, spool backlog.
samples="$work/samples.tsv"
(
	start=$(date +%s)
	while kill -0 "$mote_pid" 2>/dev/null; do
		printf '%s\t%s\t%s\t%s\t%s\n' "$(($(date +%s) - start))" "$(metric process_resident_memory_bytes)" \
			"$(metric go_goroutines)" "$(metric process_open_fds)" "$(metric mote_spool_pending_bytes)" >>"$samples"
		sleep "$SAMPLE_EVERY"
	done
) & pids+=($!)

segments="$work/segments.tsv"
elapsed=0
while ((elapsed < DURATION)); do
	d=$((DURATION - elapsed < SEGMENT ? DURATION - elapsed : SEGMENT))
	out=$(SOAK_DELAY_MS=$delay wrk -t"$THREADS" -c"$CONNS" -d"${d}s" --latency -s bench/soak.lua "$url")
	rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
	p50=$(ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
	p99=$(ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
	bad=$(awk -F'[:,]' '/non-2xx/ {gsub(/ /, "", $2); gsub(/ /, "", $4); print $2 + $4}' <<<"$out")
	elapsed=$((elapsed + d))
	printf '%s\t%s\t%s\t%s\t%s\n' "$elapsed" "$rps" "$p50" "$p99" "${bad:-0}" | tee -a "$segments"
done

# Drain: every accepted hit must reach ClickHouse.
accepted=$(metric mote_hits_accepted_total)
for _ in $(seq 1 120); do
	stored=$(metric mote_rows_stored_total)
	[ "$stored" -ge "$accepted" ] && break
	sleep 0.5
done
sleep "$SAMPLE_EVERY" # one more sample at rest

mkdir -p bench/results
summary="bench/results/soak-$(date -u +%Y%m%dT%H%M%SZ).md"
{
	echo "# Soak: ${DURATION}s at half of the maximum"
	echo
	echo "$(date -u +%Y-%m-%d), $(nproc) cores, wrk $THREADS threads / $CONNS connections, bench/pixel.lua paced by bench/soak.lua."
	echo "Maximum (unpaced, ${MEASURE}s): $max req/s; target $target req/s."
	echo
	echo "| until (s) | req/s | p50 (ms) | p99 (ms) | non-2xx + socket errors |"
	echo "| --- | --- | --- | --- | --- |"
	awk -F'\t' '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}' "$segments"
	echo
	awk -F'\t' '
		NR == 1 {p0 = $4}
		{if ($4 > pmax) pmax = $4}
		END {printf "p99 drift: worst segment %.2f ms / first %.2f ms = %.2fx (limit 2x): %s\n", pmax, p0, pmax / p0, (pmax <= 2 * p0 ? "PASS" : "FAIL")}' "$segments"
	awk -F'\t' '
		$2 != "" {n++; if (n == 1) {r0 = $2; g0 = $3; f0 = $4}; r = $2; g = $3; f = $4
			if ($2 > rmax) rmax = $2; if ($3 > gmax) gmax = $3; if ($4 > fmax) fmax = $4; if ($5 > smax) smax = $5}
		END {
			printf "RSS: first %.1f MiB, last %.1f MiB, max %.1f MiB\n", r0 / 1048576, r / 1048576, rmax / 1048576
			printf "goroutines: first %d, last %d, max %d\n", g0, g, gmax
			printf "open fds: first %d, last %d, max %d\n", f0, f, fmax
			printf "spool backlog: max %.1f KiB\n", smax / 1024
			printf "samples: %d, every '"$SAMPLE_EVERY"' s\n", n }' "$samples"
	echo "hits accepted $accepted, rows stored $stored, lost $((accepted - stored))"
} | tee "$summary"
echo "summary written to $summary"
