package enrich

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

var (
	testIP = netip.MustParseAddr("198.51.100.23")
	testUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148 Safari/604.1"
)

// noTrace fails when any slot holds a salt other than those of days, or a
// freed slot still holds salt bytes.
func noTrace(t *testing.T, k *SaltKeeper, days ...int64) {
	t.Helper()
	k.mu.RLock()
	defer k.mu.RUnlock()
	held := map[int64]bool{}
	for _, s := range k.slots {
		if !s.used {
			if s.salt != ([32]byte{}) {
				t.Fatal("a freed slot still holds salt bytes")
			}
			continue
		}
		held[s.day] = true
	}
	if len(held) != len(days) {
		t.Fatalf("keeper holds days %v, want %v", held, days)
	}
	for _, d := range days {
		if !held[d] {
			t.Fatalf("keeper lacks day %d (holds %v)", d, held)
		}
	}
}

// slotSalt returns a copy of day's salt (test only: the API never exposes it).
func slotSalt(k *SaltKeeper, day int64) ([32]byte, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if s := k.slot(day); s != nil {
		return s.salt, true
	}
	return [32]byte{}, false
}

// TestSaltKeeperRun drives Run's timers on synctest's fake clock: a salt
// per day, tomorrow's minted before midnight, yesterday's kept for the
// overlap and then zeroed, everything zeroed when Run stops.
func TestSaltKeeperRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble's clock starts at 2000-01-01 00:00 UTC.
		start := time.Now().UTC()
		day0 := dayNumber(start)
		k := NewSaltKeeper(SaltConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = k.Run(ctx); close(done) }()

		time.Sleep(time.Hour) // 01:00 on day 0
		synctest.Wait()
		noTrace(t, k, day0)
		id0 := k.VisitorID(time.Now(), "demo", testIP, testUA, nil)
		salt0, _ := slotSalt(k, day0)

		time.Sleep(22*time.Hour + 56*time.Minute) // 23:56: tomorrow's is ready
		synctest.Wait()
		noTrace(t, k, day0, day0+1)

		time.Sleep(14 * time.Minute) // 00:10 on day 1, in the overlap
		synctest.Wait()
		noTrace(t, k, day0, day0+1)
		now := time.Now()
		id1 := k.VisitorID(now, "demo", testIP, testUA, nil)
		if id1 == id0 {
			t.Fatal("same IP and UA got the same ID on two days")
		}
		if id := k.VisitorID(now, "demo", testIP, testUA, liveSet{id0}); id != id0 {
			t.Fatal("a visit running since yesterday lost its ID in the overlap")
		}

		time.Sleep(21 * time.Minute) // 00:31: overlap over
		synctest.Wait()
		noTrace(t, k, day0+1)
		if id := k.VisitorID(time.Now(), "demo", testIP, testUA, liveSet{id0}); id != id1 {
			t.Fatal("yesterday's ID used after the overlap")
		}
		k.mu.RLock()
		for _, s := range k.slots {
			if s.salt == salt0 {
				t.Error("day 0's salt bytes are still in memory")
			}
		}
		k.mu.RUnlock()

		cancel()
		<-done
		noTrace(t, k)
	})
}

// liveSet is a Liveness that knows a fixed set of running visits.
type liveSet []uint64

func (l liveSet) Live(id uint64, _ time.Time) bool {
	for _, v := range l {
		if v == id {
			return true
		}
	}
	return false
}

func TestSaltKeeperMintsOnDemand(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	k := NewSaltKeeper(SaltConfig{Now: func() time.Time { return now }})
	id := k.VisitorID(now, "demo", testIP, testUA, nil)
	if id != k.VisitorID(now, "demo", testIP, testUA, nil) {
		t.Fatal("second hit of the day got another ID")
	}
	noTrace(t, k, dayNumber(now))
	// A new keeper (a restart with no store) mints a new salt.
	if NewSaltKeeper(SaltConfig{}).VisitorID(now, "demo", testIP, testUA, nil) == id {
		t.Fatal("a restart reused the salt")
	}
}

func TestDayNumber(t *testing.T) {
	for _, tt := range []struct {
		t    time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(86399, 0), 0},
		{time.Unix(86400, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Date(2026, 3, 1, 23, 59, 59, 0, time.FixedZone("x", -5*3600)), dayNumber(time.Date(2026, 3, 2, 4, 59, 59, 0, time.UTC))},
	} {
		if got := dayNumber(tt.t); got != tt.want {
			t.Errorf("dayNumber(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
}
