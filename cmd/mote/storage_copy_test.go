package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
	"github.com/mote-analytics/mote/storage/embedded"
	"github.com/mote-analytics/mote/storage/enginetest"
)

// copySource fills an embedded data set with the copy fixture
// (enginetest.FillCopySource) and returns the open engine and the events
// by batch.
func copySource(t *testing.T, lib, dataDir string) (*embedded.Engine, map[uint64][]mote.Event) {
	t.Helper()
	ctx := context.Background()
	src, err := embedded.Open(ctx, embedded.Config{LibPath: lib, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return src, enginetest.FillCopySource(t, src).Events
}

// copyDest is a migrated, empty database on the test ClickHouse server.
func copyDest(t *testing.T) (*clickhouse.Engine, string) {
	t.Helper()
	ctx := context.Background()
	srv := testenv.ClickHouse(t)
	dsn := srv.DSN(srv.NewDatabase(t))
	dst, err := clickhouse.Open(ctx, clickhouse.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	if err := dst.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return dst, dsn
}

// TestStorageCopy moves an embedded data set into a real ClickHouse
// server: interrupted after two batches, then resumed by the command; the
// totals match, every event arrives byte for byte (every column), the
// sessions, suppressed and campaigns rows arrive column for column, and a
// further run copies nothing.
func TestStorageCopy(t *testing.T) {
	lib := testenv.ChDBLib(t)
	dataDir := filepath.Join(t.TempDir(), "chdb")
	ctx := context.Background()
	src, want := copySource(t, lib, dataDir)
	dst, dsn := copyDest(t)

	// An interruption after two batches.
	cctx, stop := context.WithCancel(ctx)
	_, err := storage.Copy(cctx, src, dst, func(p storage.CopyProgress) {
		if p.Table == "events" && p.Done == 2 {
			stop()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted copy: %v, want context.Canceled", err)
	}
	src.Close() // the command opens the data directory itself

	config := writeConfig(t, fmt.Sprintf("storage:\n  embedded:\n    data_dir: %q\n    lib: %q\n%s", dataDir, lib, minimalSites))
	var out, errs bytes.Buffer
	if code := storageMain(ctx, []string{"copy", "-config", config, "--to", dsn}, func(string) string { return "" }, &out, &errs); code != 0 {
		t.Fatalf("mote storage copy: exit %d\n%s", code, errs.String())
	}
	if got := out.String(); !strings.Contains(got, "copied 21 events (2 batches already there), 3 sessions rows") {
		t.Errorf("resumed copy said %q", got)
	}
	if !strings.Contains(errs.String(), "events") {
		t.Errorf("no progress bar on stderr: %q", errs.String())
	}
	// Every column of every event, strings that trip binary encodings
	// ("\n\n", NUL) included, arrives intact; the other tables, row for
	// row against the source.
	src, err = embedded.Open(ctx, embedded.Config{LibPath: lib, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	enginetest.ExpectCopied(t, src, dst, want)

	out.Reset()
	if code := storageMain(ctx, []string{"copy", "-config", config, "--to", dsn, "--quiet"}, func(string) string { return "" }, &out, &errs); code != 0 {
		t.Fatalf("second copy: exit %d\n%s", code, errs.String())
	}
	if got := out.String(); !strings.Contains(got, "copied 0 events (5 batches already there), 0 sessions rows (1 days already there), 0 suppressed") {
		t.Errorf("repeated copy said %q", got)
	}
}
