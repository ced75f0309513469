package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
)

func TestSuppressionsFlushAndSum(t *testing.T) {
	e := newEngine(t, testenv.ClickHouse(t), true)
	var s storage.Suppressions
	day1 := time.Date(2026, 11, 21, 23, 59, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Minute)
	for i := 0; i < 3; i++ {
		s.Suppress("shop", mote.SuppressDNT, day1)
	}
	s.Suppress("shop", mote.SuppressDNT, day2)
	s.Suppress("shop", mote.SuppressBot, day2)
	if err := s.Flush(ctx(t), e); err != nil {
		t.Fatal(err)
	}
	s.Suppress("shop", mote.SuppressDNT, day1) // a second flush adds up
	if err := s.Flush(ctx(t), e); err != nil {
		t.Fatal(err)
	}
	f := func(day, reason string, want uint64) {
		t.Helper()
		got := queryUint(t, e, "SELECT sum(count) FROM suppressed WHERE site_id = 'shop' AND day = toDate('"+day+"') AND reason = '"+reason+"'")
		if got != want {
			t.Errorf("%s %s: %d, want %d", day, reason, got, want)
		}
	}
	f("2026-11-21", "dnt", 4)
	f("2026-11-22", "dnt", 1)
	f("2026-11-22", "bot", 1)
	if n := queryUint(t, e, "SELECT count() FROM suppressed WHERE reason NOT IN ('dnt', 'bot')"); n != 0 {
		t.Errorf("%d rows with other reasons", n)
	}
}

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
