package storage_test

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/enginetest"
)

// saltsDB opens a migrated database and returns its engine as storage.SQL.
// The Salts methods themselves run on both engines in storage/enginetest.
func saltsDB(t *testing.T) (*storage.Salts, storage.SQL) {
	t.Helper()
	d := newTestDB(t, testenv.ClickHouse(t))
	conn, ok := d.eng.(storage.SQL)
	if !ok {
		t.Fatalf("%T does not implement storage.SQL", d.eng)
	}
	return storage.NewSalts(conn), conn
}

// storedSalts returns every salt value in the table, whatever its day.
func storedSalts(t *testing.T, conn storage.SQL) []string {
	t.Helper()
	return enginetest.StoredSalts(t, conn)
}

// TestSaltKeeperOnClickHouse runs the keeper against the real salts table
// across a midnight: the same IP and UA get unlinkable IDs on two days, a
// second collector agrees on the salt, and after the overlap the first
// day's salt is gone from both keepers and from ClickHouse.
func TestSaltKeeperOnClickHouse(t *testing.T) {
	s, conn := saltsDB(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := enrich.NewSaltKeeper(enrich.SaltConfig{Store: s, Now: clock})
	b := enrich.NewSaltKeeper(enrich.SaltConfig{Store: s, Now: clock})
	refresh := func() {
		t.Helper()
		for _, k := range []*enrich.SaltKeeper{a, b} {
			if err := k.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	refresh()
	ip := netip.MustParseAddr("203.0.113.7")
	const ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
	day1 := a.VisitorID(now, "demo", ip, ua, nil)
	if got := b.VisitorID(now, "demo", ip, ua, nil); got != day1 {
		t.Fatalf("two collectors disagree: %x vs %x", day1, got)
	}
	salt1, ok, err := s.GetSalt(ctx, now)
	if err != nil || !ok {
		t.Fatalf("salt of day 1 not shared: %v %v", ok, err)
	}
	if enrich.VisitorID(&salt1, "demo", ip, ua) != day1 {
		t.Fatal("the stored salt is not the one the keeper uses")
	}

	now = time.Date(2026, 3, 1, 23, 57, 0, 0, time.UTC) // tomorrow's is minted early
	refresh()
	now = time.Date(2026, 3, 2, 0, 10, 0, 0, time.UTC) // in the overlap
	refresh()
	day2 := a.VisitorID(now, "demo", ip, ua, nil)
	if day2 == day1 {
		t.Fatal("the same visitor got the same ID on two days")
	}
	if got := b.VisitorID(now, "demo", ip, ua, nil); got != day2 {
		t.Fatalf("collectors disagree on day 2: %x vs %x", day2, got)
	}
	if n := len(a.Days()); n != 2 {
		t.Fatalf("in the overlap the keeper holds %v, want yesterday and today", a.Days())
	}

	now = time.Date(2026, 3, 2, 0, 31, 0, 0, time.UTC) // overlap over
	refresh()
	want := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for _, k := range []*enrich.SaltKeeper{a, b} {
		if days := k.Days(); len(days) != 1 || !days[0].Equal(want) {
			t.Fatalf("after the overlap the keeper holds %v, want only %v", days, want)
		}
	}
	for _, v := range storedSalts(t, conn) {
		if bytes.Equal([]byte(v), salt1[:]) {
			t.Fatal("day 1's salt is still in ClickHouse after the overlap")
		}
	}
	if _, ok, _ := s.GetSalt(ctx, salt1Day()); ok {
		t.Fatal("day 1 still has a salt row")
	}
	if got := a.VisitorID(now, "demo", ip, ua, nil); got != day2 {
		t.Fatalf("today's ID changed after the wipe: %x vs %x", got, day2)
	}

	// Everything restarts: the store and the keepers forget; a new salt is
	// minted and the ID changes again.
	if err := conn.ExecSQL(ctx, "TRUNCATE TABLE salts"); err != nil {
		t.Fatal(err)
	}
	c := enrich.NewSaltKeeper(enrich.SaltConfig{Store: s, Now: clock})
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.VisitorID(now, "demo", ip, ua, nil); got == day2 || got == day1 {
		t.Fatal("a restart with no salt anywhere reused an old salt")
	}
}

func salt1Day() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }
