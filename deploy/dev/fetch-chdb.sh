#!/usr/bin/env bash
# Fetches libchdb.so (ClickHouse in-process, used by the embedded storage
# engine) from the npm package @chdb/lib-linux-x64-gnu, pinned in
# internal/versions/versions.env (read by the Go code too), into a
# cache directory outside the repo:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/mote/chdb/<version>/libchdb.so
#
# The library is several hundred MB; it is fetched once and never committed.
# Running the script again is a no-op once the file is there. It prints the
# path of the library as its last line, so
# `lib=$(deploy/dev/fetch-chdb.sh | tail -1)` works. CHDB_LIB_VERSION picks
# another version of the package (the engine checks the version it loads).
set -euo pipefail

. "$(dirname "$0")/../../internal/versions/versions.env"
version=${CHDB_LIB_VERSION:-$pinned_chdb}
pkg=@chdb/lib-linux-x64-gnu
dir="${XDG_CACHE_HOME:-$HOME/.cache}/mote/chdb/$version"
lib="$dir/libchdb.so"

if [ -s "$lib" ]; then
	echo "libchdb.so ($pkg@$version) already in $dir" >&2
	echo "$lib"
	exit 0
fi

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) ;;
*) echo "$pkg ships libchdb.so for Linux x86-64 (glibc) only; this is $(uname -s)/$(uname -m)" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "npm is needed to fetch $pkg (apt-get install npm)" >&2; exit 1; }

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch-XXXXXX") # same file system as the cache: mv is atomic
trap 'rm -rf "$tmp"' EXIT

echo "fetching npm package $pkg@$version (libchdb.so, ClickHouse in-process, a few hundred MB) into $dir ..." >&2
# npm pack shows no byte progress; a background loop prints the size of
# the download every few seconds so a slow link does not look like a hang.
(cd "$tmp" && npm pack --silent "$pkg@$version" >"$tmp/pack.out" 2>"$tmp/pack.err") &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	sleep 3
	size=$(du -sm "$tmp" "${npm_config_cache:-$HOME/.npm}/_cacache/tmp" 2>/dev/null | awk '{s+=$1} END {print s+0}')
	printf '\r  ... %s MB' "$size" >&2
done
printf '\n' >&2
wait "$pid" || { cat "$tmp/pack.err" >&2; echo "npm pack $pkg@$version failed" >&2; exit 1; }
tarball=$(tail -1 "$tmp/pack.out")
[ -n "$tarball" ] && [ -f "$tmp/$tarball" ] || { echo "npm pack $pkg@$version produced no tarball" >&2; exit 1; }

echo "unpacking libchdb.so ..." >&2
member=$(tar -tzf "$tmp/$tarball" | grep -m1 '/libchdb\.so$') ||
	{ echo "$pkg@$version holds no libchdb.so" >&2; exit 1; }
tar -xzf "$tmp/$tarball" -C "$tmp" "$member"
for extra in LICENSE README.md; do
	tar -xzf "$tmp/$tarball" -C "$tmp" "package/$extra" 2>/dev/null && cp "$tmp/package/$extra" "$dir/$extra" || true
done
# Rename into place so a concurrent reader never sees half a file.
mv "$tmp/$member" "$lib"
echo "libchdb.so ($pkg@$version) ready: $(du -h "$lib" | cut -f1)" >&2
echo "$lib"
