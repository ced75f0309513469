// Package cache names Mote's download cache, where `make` puts the large
// third-party files that do not belong in the repository (libchdb.so, the
// GeoLite2 City database): ${XDG_CACHE_HOME:-$HOME/.cache}/mote. The fetch
// scripts in deploy/dev use the same rule.
package cache

import (
	"os"
	"path/filepath"
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
