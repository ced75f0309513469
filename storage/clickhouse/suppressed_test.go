package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
)

// The sum of flushed counters is in the conformance suite
// (storage/enginetest); this is the server engine's outage case.
func TestSuppressionsKeptWhenFlushFails(t *testing.T) {
	srv := testenv.StartClickHouse(t)
	e := newEngine(t, srv, true)
	var s storage.Suppressions
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s.Suppress("shop", mote.SuppressGPC, now)
	s.Suppress("shop", mote.SuppressGPC, now)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Flush(short, e); err == nil {
		t.Fatal("flush with the server down reported success")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	s.Suppress("shop", mote.SuppressGPC, now)
	if err := s.Flush(ctx(t), e); err != nil {
		t.Fatal(err)
	}
	if got := queryUint(t, e, "SELECT sum(count) FROM suppressed WHERE reason = 'gpc'"); got != 3 {
		t.Fatalf("stored %d gpc suppressions, want all 3 (2 kept from the failed flush)", got)
	}
}
