package enginetest

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// StoredSalts returns every salt value in the salts table, whatever its
// day, read through hex() as Salts reads them.
func StoredSalts(t *testing.T, conn storage.SQL) []string {
	t.Helper()
	var all []string
	var n uint64
	if err := storage.QueryRow(ctx(t), conn, "SELECT arrayMap(s -> hex(s), groupArray(salt)), count() FROM salts", &all, &n); err != nil {
		t.Fatal(err)
	}
	if uint64(len(all)) != n {
		t.Fatalf("groupArray has %d salts, count() %d", len(all), n)
	}
	for i, h := range all {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("salt %d is not hex: %v", i, err)
		}
		all[i] = string(b)
	}
	return all
}

func testSaltsAgreeOnEarliest(t *testing.T, e Inspector) {
	migrate(t, e)
	s := storage.NewSalts(e)
	ctx := ctx(t)
	day := time.Date(2026, 3, 1, 15, 4, 5, 0, time.UTC) // time of day ignored
	if _, ok, err := s.GetSalt(ctx, day); err != nil || ok {
		t.Fatalf("empty table: ok=%v err=%v", ok, err)
	}
	late, early := [32]byte{1, 2, 3}, [32]byte{9, 8, 7}
	t0 := time.Date(2026, 3, 1, 0, 0, 10, 0, time.UTC)
	if err := s.PutSalt(ctx, day, late, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSalt(ctx, day, early, t0); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.GetSalt(ctx, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || !ok || got != early {
		t.Fatalf("GetSalt = %x, %v, %v; want the earliest minted %x", got, ok, err, early)
	}
	if _, ok, _ := s.GetSalt(ctx, day.AddDate(0, 0, 1)); ok {
		t.Fatal("a salt of another day was returned")
	}
}

func testSaltsDeleteBefore(t *testing.T, e Inspector) {
	migrate(t, e)
	s := storage.NewSalts(e)
	ctx := ctx(t)
	d1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d2, d3 := d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 2)
	old1, old2, today := [32]byte{0xaa, 1}, [32]byte{0xaa, 2}, [32]byte{0xbb}
	tomorrowA, tomorrowB := [32]byte{0xcc, 1}, [32]byte{0xcc, 2}
	for _, p := range []struct {
		day  time.Time
		salt [32]byte
		at   time.Time
	}{
		{d1, old1, d1}, {d1, old2, d1.Add(time.Minute)}, {d2, today, d2},
		{d3, tomorrowB, d2.Add(2 * time.Hour)}, {d3, tomorrowA, d2.Add(time.Hour)},
	} {
		if err := s.PutSalt(ctx, p.day, p.salt, p.at); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteSaltsBefore(ctx, d2); err != nil {
		t.Fatal(err)
	}
	for _, v := range StoredSalts(t, e) {
		if bytes.Equal([]byte(v), old1[:]) || bytes.Equal([]byte(v), old2[:]) {
			t.Fatalf("a salt of %s survived the delete", d1.Format(time.DateOnly))
		}
	}
	if _, ok, _ := s.GetSalt(ctx, d1); ok {
		t.Fatal("deleted day still has a salt")
	}
	if got, ok, err := s.GetSalt(ctx, d2); err != nil || !ok || got != today {
		t.Fatalf("today's salt after delete = %x, %v, %v", got, ok, err)
	}
	if got, ok, err := s.GetSalt(ctx, d3); err != nil || !ok || got != tomorrowA {
		t.Fatalf("tomorrow's agreed salt after delete = %x, %v, %v; want %x", got, ok, err, tomorrowA)
	}
	// A day that had no salt has none after the delete (servers without
	// mutations rewrite the table: an empty salt kept for such a day
	// would key visitor ids with nothing secret).
	if got, ok, err := s.GetSalt(ctx, d3.AddDate(0, 0, 1)); err != nil || ok {
		t.Fatalf("a day without a salt has one after the delete: %x (%v)", got, err)
	}
	// Deleting again with nothing old is a no-op.
	if err := s.DeleteSaltsBefore(ctx, d2); err != nil {
		t.Fatal(err)
	}
}
