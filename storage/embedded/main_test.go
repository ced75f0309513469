package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
)

// The tests of this package share one chDB data directory (chDB runs one
// per process, and booting it costs about a second); each test takes its
// own database in it. Tests that need a fresh process — reopening a
// directory, SIGKILL, loading a wrong library — re-execute the test binary
// as a child (see child_test.go).
var shared struct {
	once sync.Once
	dir  string
	keep *Engine // holds the connection open between tests
	err  error
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	code := m.Run()
	if shared.keep != nil {
		_ = shared.keep.Close()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedDir opens the package's data directory on first use.
func sharedDir(tb testing.TB) string {
	tb.Helper()
	lib := testenv.ChDBLib(tb)
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "mote-chdb-"); shared.err != nil {
			return
		}
		shared.keep, shared.err = Open(context.Background(), Config{LibPath: lib, DataDir: shared.dir, Database: "keep"})
	})
	if shared.err != nil {
		tb.Fatalf("shared chDB: %v", shared.err)
	}
	return shared.dir
}

var dbSeq atomic.Uint64

// newEngine opens an engine on a new, empty database of the shared
// directory (migrated if asked) and drops the database when the test ends.
func newEngine(tb testing.TB, migrate bool) *Engine {
	tb.Helper()
	dir := sharedDir(tb)
	db := fmt.Sprintf("t%d_%s", dbSeq.Add(1), testenv.Identifier(tb.Name(), 40))
	e, err := Open(ctx(tb), Config{LibPath: testenv.ChDBLib(tb), DataDir: dir, Database: db})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = e.run(context.Background(), false, func(c *conn) error {
			_, err := c.query("DROP DATABASE IF EXISTS `"+db+"`", "")
			if proc.current == db {
				proc.current = ""
			}
			return err
		})
		_ = e.Close()
	})
	err = e.run(ctx(tb), false, func(c *conn) error {
		_, err := c.query("CREATE DATABASE `"+db+"`", "")
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	if migrate {
		if err := e.Migrate(ctx(tb)); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	tb.Cleanup(cancel)
	return c
}

// unwritable returns a data directory path that cannot be created: its
// parent is a regular file (which stops root too, unlike permissions).
func unwritable(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(f, "data")
}
