#!/usr/bin/env bash
# Mutation testing of the critical files with gremlins (pinned): each
# mutant (a flipped comparison, a changed operator, ...) is applied to a
# copy of the module and the package's tests are run; a mutant they do not
# notice "lives". TESTING.md explains the score and lists the survivors
# that are equivalent (no test can tell them apart from the original).
#
#   mutation.sh           every critical file (make mutation; slow)
#   mutation.sh brief     URL redaction, visitor ids and the privacy gate
#                         (make mutation-brief: about 200 mutants)
#   MUTATION_ONLY=storage/spool mutation.sh
#                         only the targets of that package (a regular
#                         expression on the package column, or on the
#                         package and the target's first file:
#                         MUTATION_ONLY='storage copy.go')
#
# Fails when the share of killed mutants among those the tests reach
# (killed / (killed + lived)) is under MUTATION_THRESHOLD percent, when
# more than a tenth of them timed out (the score would mean nothing: raise
# MUTATION_TIMEOUT_COEFFICIENT), or when the brief run goes over
# MUTATION_BUDGET seconds.
set -euo pipefail

GREMLINS=github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
GO=${GO:-go}
THRESHOLD=${MUTATION_THRESHOLD:-85}
WORKERS=${MUTATION_WORKERS:-2}
# Each mutant's tests get COEFFICIENT times the time the unmutated tests
# took (gremlins' default is 3); a loaded machine needs more room, or
# every mutant "times out".
COEFFICIENT=${MUTATION_TIMEOUT_COEFFICIENT:-10}
OUT=${MUTATION_OUT:-${TMPDIR:-/tmp}/mote-mutation}
mode=${1:-full}

# The targets: a package, its critical files, and tests to skip there
# (GOFLAGS -skip) or the only tests to run there (-run). TestBrowser needs
# Chromium and checks rendering, not these files' logic. The storage
# package's tests take about a minute on 2 cores, mostly the Batcher's
# fault tests, so copy.go and salts.go run only their own tests (a mutant
# of theirs that only another test would notice counts as lived).
# storage/share_links.go is tested by the engines' conformance suite, in
# other packages, which gremlins does not run for a mutant of storage:
# TESTING.md lists its mutants, applied by hand. gremlins measures coverage over the package and its
# subpackages (./storage/...), so the storage target skips the cluster
# tests, which take minutes and test none of its files. One target a line.
brief_targets='
enrich url_minimize.go url_redact.go visitor.go
collector hit.go
'
full_targets='
enrich url.go url_minimize.go url_redact.go salt.go visitor.go
collector hit.go
dashboards access.go login.go loginlimit.go password.go share_links.go -skip=TestBrowser
storage batcher.go sessions.go -skip=TestCluster|TestShardOf|TestCopy|TestSaltKeeper
storage copy.go -run=TestCopy
storage salts.go -run=TestSaltKeeper
storage/spool spool.go segment.go recover.go reader.go record.go
'
case $mode in
brief) targets=$brief_targets; budget=${MUTATION_BUDGET:-600} ;;
full) targets=$full_targets; budget=0 ;;
*) echo "usage: $0 [brief]" >&2; exit 2 ;;
esac

if [ -n "${MUTATION_ONLY:-}" ]; then
	targets=$(echo "$targets" | awk -v re="^(${MUTATION_ONLY})( |\$)" '($1 " " $2) ~ re')
	[ -n "$targets" ] || { echo "MUTATION_ONLY=$MUTATION_ONLY matches no target" >&2; exit 2; }
fi

cd "$(dirname "$0")/../.."
mkdir -p "$OUT"
gremlins=$OUT/gremlins
[ -x "$gremlins" ] || GOBIN=$OUT $GO install "$GREMLINS"

start=$(date +%s)
echo "$targets" | while read -r pkg rest; do
	[ -n "$pkg" ] || continue
	files="" skip=""
	for w in $rest; do
		case $w in -skip=* | -run=*) skip=$w ;; *) files="$files $w" ;; esac
	done
	# gremlins mutates every file of a package and of its subpackages
	# (paths relative to the package, so a '/' is a subpackage's file):
	# exclude all but the target's.
	set -- -E /
	for f in "$pkg"/*.go; do
		case $f in *_test.go) continue ;; esac
		keep=no
		for c in $files; do [ "$f" = "$pkg/$c" ] && keep=yes; done
		[ $keep = yes ] || set -- "$@" -E "^$(basename "$f" | sed 's/\./\\./g')\$"
	done
	name=$(echo "$pkg$files" | sed 's/\.go//g' | tr ' /' '__')
	log=$OUT/$name.log
	echo "mutation: $pkg ($files ) ..."
	# -count=1: a cached coverage run would set a timeout of nothing.
	GOFLAGS="${GOFLAGS:-} -count=1 $skip" "$gremlins" unleash --workers "$WORKERS" --timeout-coefficient "$COEFFICIENT" \
		-o "$OUT/$name.json" "$@" "./$pkg" >"$log" 2>&1 || {
		echo "gremlins failed on $pkg:"; tail -20 "$log"; exit 1
	}
	grep -E '^ *(LIVED|TIMED OUT) ' "$log" | sed "s|^ *|  $pkg: |" || true
	grep -E '^Killed:|^Timed out:|^Test efficacy' "$log" | sed 's/^/  /'
done | tee "$OUT/summary.txt"

# Totals over every target, from gremlins' own summary lines.
sum() { grep -E "^  $1:" "$OUT/summary.txt" | sed -E "s/.*$1: ([0-9]+).*/\1/" | awk '{s+=$1} END {print s+0}'; }
killed=$(grep -E '^  Killed:' "$OUT/summary.txt" | sed -E 's/.*Killed: ([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
lived=$(grep -E '^  Killed:' "$OUT/summary.txt" | sed -E 's/.*Lived: ([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
notcovered=$(grep -E '^  Killed:' "$OUT/summary.txt" | sed -E 's/.*Not covered: ([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
timedout=$(sum 'Timed out')
elapsed=$(($(date +%s) - start))
reached=$((killed + lived))
[ $reached -gt 0 ] || { echo "mutation: no mutant reached by a test"; exit 1; }
score=$((killed * 1000 / reached))
echo "mutation ($mode): killed $killed, lived $lived, timed out $timedout, not covered $notcovered;" \
	"killed $((score / 10)).$((score % 10))% of the mutants tests reach (threshold $THRESHOLD%); ${elapsed}s"
if [ "$budget" -gt 0 ] && [ "$elapsed" -gt "$budget" ]; then
	echo "mutation: over the time budget of ${budget}s"; exit 1
fi
if [ $((timedout * 10)) -gt $((reached + timedout)) ]; then
	echo "mutation: $timedout mutants timed out: the machine is too loaded for the timeout (MUTATION_TIMEOUT_COEFFICIENT=$COEFFICIENT)"; exit 1
fi
[ $((score / 10)) -ge "$THRESHOLD" ]
