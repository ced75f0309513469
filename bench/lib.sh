# Sourced by bench/run.sh and bench/soak.sh: a scratch directory ($work),
# the background processes they start (append each pid to pids), stopped
# on exit, and wait_port.

work=$(mktemp -d)
pids=()
# Stop in reverse start order: mote drains into ClickHouse before ClickHouse goes.
cleanup() {
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# wait_port PORT: wait (about 40 s at most) until something listens on
# 127.0.0.1:PORT.
wait_port() {
	for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.2; done
	echo "nothing listens on $1" >&2; return 1
}
