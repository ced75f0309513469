package embedded

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/enginetest"
)

// inspector adds the conformance suite's QueryUint to the engine.
type inspector struct{ *Engine }

func (i inspector) QueryUint(ctx context.Context, q string) (uint64, error) {
	return i.queryUint(ctx, q)
}

func TestConformance(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) storage.Engine {
		return inspector{newEngine(t, false)}
	})
}

func TestSchemaIsModern(t *testing.T) {
	e := newEngine(t, true)
	if !e.features.TTL || !e.features.LowCardinality || !e.features.Dedup {
		t.Fatalf("chDB %v: features %+v, want all", e.ServerVersion(), e.features)
	}
	out, err := e.Query(ctx(t), "SELECT type FROM system.columns WHERE database = currentDatabase() AND table = 'events' AND name = 'site_id'", "TabSeparated")
	if err != nil || strings.TrimSpace(string(out)) != "LowCardinality(String)" {
		t.Fatalf("site_id type %q, %v", out, err)
	}
	out, err = e.Query(ctx(t), "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'salts'", "TabSeparated")
	if err != nil || strings.TrimSpace(string(out)) != "Memory" {
		t.Fatalf("salts engine %q, %v (salts must stay in RAM)", out, err)
	}
}

// TestInsertIsOneBlock: a 100k-row batch (ten times the Batcher's usual
// size) lands as one part, so it is stored entirely or not at all.
func TestInsertIsOneBlock(t *testing.T) {
	e := newEngine(t, true)
	events := benchEvents(100_000)
	if err := e.InsertEvents(ctx(t), 5, events); err != nil {
		t.Fatal(err)
	}
	parts, err := e.queryUint(ctx(t), "SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'events' AND active")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := e.BatchRows(ctx(t), 5); n != uint64(len(events)) || parts != 1 {
		t.Fatalf("%d rows in %d parts, want %d in 1", n, parts, len(events))
	}
}

func TestErrorCarriesServerMessage(t *testing.T) {
	e := newEngine(t, true)
	_, err := e.Query(ctx(t), "SELECT no_such_column FROM events", "TabSeparated")
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != 47 || !strings.Contains(ce.Message, "no_such_column") || strings.Contains(ce.Message, "Stack trace") {
		t.Fatalf("err = %#v (%v)", ce, err)
	}
	if err := e.Exec(ctx(t), "SELEC 1"); err == nil || !strings.Contains(err.Error(), "Syntax error") {
		t.Fatalf("syntax error: %v", err)
	}
}

func TestServerErrorParsing(t *testing.T) {
	f := func(in string, code int, msg string) {
		t.Helper()
		var e *Error
		if !errors.As(serverError(in), &e) || e.Code != code || e.Message != msg {
			t.Errorf("serverError(%q) = %+v, want code %d message %q", in, e, code, msg)
		}
	}
	f("Code: 60. DB::Exception: Unknown table expression identifier 'events' in scope. (UNKNOWN_TABLE)", 60,
		"Unknown table expression identifier 'events' in scope. (UNKNOWN_TABLE)")
	f("Code: 62. DB::Exception: Syntax error: failed at position 1. Stack trace:\n\n0. x\n", 62, "Syntax error: failed at position 1")
	f("something broke", 0, "something broke")
	f("", 0, "unknown error (chDB gave no message)")
	f("Code: x. weird", 0, "Code: x. weird")
}

func TestClosedEngine(t *testing.T) {
	e := newEngine(t, true)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := e.Ping(ctx(t)); !errors.Is(err, errClosed) {
		t.Fatalf("Ping after Close: %v", err)
	}
	if err := e.InsertEvents(ctx(t), 1, []mote.Event{enginetest.Event(1)}); !errors.Is(err, errClosed) {
		t.Fatalf("insert after Close: %v", err)
	}
}

func TestContextCancelledWhileWaiting(t *testing.T) {
	e := newEngine(t, true)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Ping(c); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping with a cancelled context: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	lib := filepath.Join(t.TempDir(), "nowhere", "libchdb.so")
	_, err := Open(context.Background(), Config{LibPath: lib, DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make chdb") || !strings.Contains(err.Error(), NPMPackage+"@"+LibVersion) || !strings.Contains(err.Error(), lib) {
		t.Errorf("missing library: %v", err)
	}
	sharedDir(t) // a loaded library, so that only the data directory can fail
	_, err = Open(context.Background(), Config{LibPath: shared.keep.cfg.LibPath, DataDir: unwritable(t)})
	if err == nil || !strings.Contains(err.Error(), "data directory") {
		t.Errorf("data dir under a file: %v", err)
	}
	_, err = Open(context.Background(), Config{LibPath: shared.keep.cfg.LibPath, DataDir: readOnlyDir(t)})
	if err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("read-only data dir: %v", err)
	}
	_, err = Open(context.Background(), Config{LibPath: shared.keep.cfg.LibPath, DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "one data directory per process") {
		t.Errorf("second data directory: %v", err)
	}
	if _, err := Open(context.Background(), Config{Database: "x; DROP"}); err == nil {
		t.Error("bad database name accepted")
	}
}

// The library's path comes from cmd (MOTE_CHDB_LIB or the cache, see
// internal/downloads.ChDBLib); without one Open says how to get it.
func TestOpenWithoutLibPath(t *testing.T) {
	_, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make chdb") || !strings.Contains(err.Error(), NPMPackage+"@"+LibVersion) {
		t.Fatalf("Open without LibPath: %v", err)
	}
}
