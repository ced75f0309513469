package downloads

import (
	"os"
	"path/filepath"

	"github.com/mote-analytics/mote/internal/versions"
)

// Path joins elem under the cache directory. Without XDG_CACHE_HOME and
// without a home directory it falls back to ./.cache, so a caller always
// gets a path to report in its error message.
func Path(elem ...string) string {
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		dir = filepath.Join(home, ".cache")
	}
	return filepath.Join(append([]string{dir, "mote"}, elem...)...)
}

// ChDBLib is where `make chdb` (deploy/dev/fetch-chdb.sh) puts the pinned
// libchdb.so: <cache>/chdb/<version>/libchdb.so.
func ChDBLib() string { return Path("chdb", versions.ChDB, "libchdb.so") }

// GeoLite2City is where `make geoip` (deploy/dev/fetch-geoip.sh) puts the
// pinned GeoLite2 City database: <cache>/geoip/<version>/GeoLite2-City.mmdb.
// It is CC BY-SA licensed and 60 MB, so it lives outside the repository.
func GeoLite2City() string {
	return Path("geoip", versions.GeoIPDatabase, "GeoLite2-City.mmdb")
}
