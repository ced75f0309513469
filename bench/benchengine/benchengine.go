// Package benchengine opens the storage a benchmark command runs on, as
// its flags name it: a ClickHouse server (-dsn) or chDB in-process (-dir,
// -lib). bench/queries and bench/rebuild share it, so that both take the
// same flags and run on the same engine set-up.
package benchengine

import (
	"context"
	"flag"
	"os"
	"time"

	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
	"github.com/mote-analytics/mote/storage/embedded"
)

// Engine is what the benchmarks use of either engine.
type Engine interface {
	storage.Engine
	storage.SQL
}

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

// Open opens the engine the flags name and migrates it. The server's read
// timeout is ten minutes, not its default minute: over a data set of
// millions of rows, one wait for the server can take longer.
func (f *Flags) Open(ctx context.Context) (Engine, error) {
	var eng Engine
	var err error
	if f.DSN != "" {
		eng, err = clickhouse.Open(ctx, clickhouse.Config{DSN: f.DSN, ReadTimeout: 10 * time.Minute})
	} else {
		eng, err = embedded.Open(ctx, embedded.Config{LibPath: f.Lib, DataDir: f.Dir, Database: f.Database})
	}
	if err != nil {
		return nil, err
	}
	if err := eng.Migrate(ctx); err != nil {
		eng.Close()
		return nil, err
	}
	return eng, nil
}
