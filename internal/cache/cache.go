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
