// Package benchengine opens the storage a benchmark command runs on, as
// its flags name it: a ClickHouse server (-dsn) or chDB in-process (-dir,
// -lib). bench/queries and bench/rebuild share it, so that both take the
// same flags and run on the same engine set-up.
package benchengine

import (
	"context"
	"flag"
	"log"
	"os"
	"time"

	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
	"github.com/mote-analytics/mote/storage/embedded"
)

// Flags name the engine.
type Flags struct {
	DSN string // a ClickHouse server; empty: the embedded engine
	Dir string // the embedded engine's data directory
	Lib string // libchdb.so
	// Database is the embedded engine's database; empty: its default.
	Database string
}

// Register adds -dsn, -dir (defaulting to defaultDir) and -lib to the
// command line.
func (f *Flags) Register(defaultDir string) {
	flag.StringVar(&f.DSN, "dsn", "", "ClickHouse server DSN; empty: the embedded engine")
	flag.StringVar(&f.Dir, "dir", defaultDir, "embedded data directory")
	flag.StringVar(&f.Lib, "lib", os.Getenv("MOTE_CHDB_LIB"), "libchdb.so (default: the cache `make chdb` fills)")
}

// Open opens the engine the flags name and migrates it, or ends the
// command (log.Fatal): a benchmark has nothing to fall back on. The
// server's read timeout is ten minutes, not its default minute: over a
// data set of millions of rows, one wait for the server can take longer.
func (f *Flags) Open(ctx context.Context) storage.Engine {
	eng, err := storage.OpenMigrated(ctx, func(ctx context.Context) (storage.Engine, error) {
		if f.DSN != "" {
			return clickhouse.Open(ctx, clickhouse.Config{DSN: f.DSN, ReadTimeout: 10 * time.Minute})
		}
		return embedded.Open(ctx, embedded.Config{LibPath: f.Lib, DataDir: f.Dir, Database: f.Database})
	})
	if err != nil {
		log.Fatal(err)
	}
	return eng
}
