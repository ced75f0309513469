package embedded

import (
	"log/slog"
	"time"

	"github.com/mote-analytics/mote/internal/versions"
)

// LibVersion is the chDB build Mote is made for: the version of the npm
// package @chdb/lib-linux-x64-gnu that `make chdb` (deploy/dev/fetch-chdb.sh)
// fetches, pinned in internal/versions. Open refuses a library whose
// chdb_version() is another release, because the C prototypes declared
// here are those of this version's chdb.h.
var LibVersion = versions.ChDB

// NPMPackage is the npm package that ships libchdb.so.
const NPMPackage = "@chdb/lib-linux-x64-gnu"

// FetchHint says how to get the library; every "library missing or wrong"
// error ends with it.
var FetchHint = "run `make chdb` (it fetches the npm package " + NPMPackage + "@" + LibVersion +
	" into the cache), or set MOTE_CHDB_LIB to the path of that package's libchdb.so"

// Config says where chDB and its data live. Every field but LibPath has a
// default: the data directory ./data and the database "mote".
type Config struct {
	// LibPath is the libchdb.so to load. Required: this package reads no
	// environment; cmd fills it from MOTE_CHDB_LIB or the cache that
	// `make chdb` fills.
	LibPath string
	// DataDir holds the databases (chDB's --path); default "./data". It is
	// created if missing and must be writable.
	DataDir string
	// Database is the database the engine writes to; default "mote".
	// Migrate creates it.
	Database string
	// Retention is the TTL of raw events and sessions; zero means
	// mote.DefaultRetention.
	Retention time.Duration
	// DedupWindow is the events table's non_replicated_deduplication_window;
	// zero means storage.DefaultDedupWindow.
	DedupWindow int
	// MaxThreads caps the threads one query uses; zero lets ClickHouse
	// choose (the number of cores). Set it lower to leave cores to the
	// collector on a small box.
	MaxThreads int
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
}

func (cfg Config) dataDir() string {
	if cfg.DataDir != "" {
		return cfg.DataDir
	}
	return "data"
}

func (cfg Config) database() string {
	if cfg.Database != "" {
		return cfg.Database
	}
	return "mote"
}
