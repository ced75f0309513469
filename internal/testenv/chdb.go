package testenv

import (
	"os"
	"testing"

	"github.com/mote-analytics/mote/internal/downloads"
	"github.com/mote-analytics/mote/internal/versions"
)

// ChDBLib returns the path of libchdb.so for tests: MOTE_CHDB_LIB when set,
// else the cache that `make chdb` fills
// (${XDG_CACHE_HOME:-$HOME/.cache}/mote/chdb/<version>/libchdb.so). When
// the library is missing the test fails (it does not skip) and says how to
// get it.
func ChDBLib(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv("MOTE_CHDB_LIB")
	if path == "" {
		path = downloads.ChDBLib()
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		tb.Fatalf("chDB library %s not found: run `make chdb` (or deploy/dev/fetch-chdb.sh), which fetches the npm package @chdb/lib-linux-x64-gnu@%s into the cache, or set MOTE_CHDB_LIB to its libchdb.so", path, versions.ChDB)
	}
	return path
}
