package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// shared is the one server of a test binary, started by the first
// ClickHouse call and stopped by Main.
var shared struct {
	once sync.Once
	srv  *Server
	dir  string
	err  error
}

var mainRunning atomic.Bool

// Main runs the tests of a package that uses ClickHouse and then stops the
// shared server and removes its directory. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if shared.srv != nil {
		_ = shared.srv.Stop()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// ClickHouse returns the test binary's shared server, starting it on first
// use. The package's TestMain must call Main, which stops it; without Main
// the test fails, so that no server outlives its tests. Tests take their own
// database with NewDatabase and must not stop this server (use
// StartClickHouse for that).
func ClickHouse(tb testing.TB) *Server {
	tb.Helper()
	if !mainRunning.Load() {
		tb.Fatal("testenv.ClickHouse needs the package's TestMain to call testenv.Main(m), which stops the shared server")
	}
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "mote-clickhouse-")
		if shared.err != nil {
			return
		}
		shared.srv, shared.err = StartServer(context.Background(), Config{Dir: shared.dir})
	})
	if shared.err != nil {
		tb.Fatalf("shared ClickHouse server: %v", shared.err)
	}
	return shared.srv
}

// StartClickHouse starts a private server for one test, typically one that
// stops and restarts it to simulate an outage. It is killed and its
// directory removed when the test ends.
func StartClickHouse(tb testing.TB) *Server {
	tb.Helper()
	dir := tb.TempDir() // registered first, so removed after the server stops
	srv, err := StartServer(context.Background(), Config{Dir: dir})
	if err != nil {
		tb.Fatalf("private ClickHouse server: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Stop() })
	return srv
}

var dbSeq atomic.Uint64

// NewDatabase creates a database with a fresh name on s and drops it when
// the test ends. The name is derived from the test name, so a failing test's
// leftovers are easy to recognise in the server log.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%d_%s", os.Getpid(), dbSeq.Add(1), Identifier(tb.Name(), 40))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Exec(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		tb.Fatalf("create test database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if !s.Running() {
			return // a stopped private server goes away with its directory
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Exec(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			tb.Logf("drop test database %s: %v", name, err)
		}
	})
	return name
}

// Identifier keeps the letters, digits and underscores of s (others become
// '_'), at most n bytes: a test's name made fit for a database name.
func Identifier(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
