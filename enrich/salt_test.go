package enrich

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
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
		{time.Unix(-86400, 0), -1},
		{time.Date(2026, 3, 1, 23, 59, 59, 0, time.FixedZone("x", -5*3600)), dayNumber(time.Date(2026, 3, 2, 4, 59, 59, 0, time.UTC))},
	} {
		if got := dayNumber(tt.t); got != tt.want {
			t.Errorf("dayNumber(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
}

// failReader is a salt source that always fails.
type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// memStore is a SaltStore in a map; fail makes every call fail.
type memStore struct {
	mu      sync.Mutex
	salts   map[int64][32]byte
	deletes int
	fail    bool
	failPut bool
	// preempt, when set, is stored by "another collector" just before
	// the first PutSalt of a day lands.
	preempt *[32]byte
}

func (m *memStore) GetSalt(_ context.Context, day time.Time) ([32]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return [32]byte{}, false, errors.New("store down")
	}
	s, ok := m.salts[dayNumber(day)]
	return s, ok, nil
}

func (m *memStore) PutSalt(_ context.Context, day time.Time, salt [32]byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail || m.failPut {
		return errors.New("store down")
	}
	if m.salts == nil {
		m.salts = map[int64][32]byte{}
	}
	if _, ok := m.salts[dayNumber(day)]; !ok && m.preempt != nil {
		m.salts[dayNumber(day)] = *m.preempt
	}
	if _, ok := m.salts[dayNumber(day)]; !ok {
		m.salts[dayNumber(day)] = salt
	}
	return nil
}

func (m *memStore) DeleteSaltsBefore(_ context.Context, day time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("store down")
	}
	m.deletes++
	for d := range m.salts {
		if d < dayNumber(day) {
			delete(m.salts, d)
		}
	}
	return nil
}

// TestSaltKeeperLogsBrokenSource: a failing salt source is logged to the
// configured logger, and a keeper without one does not crash on it.
func TestSaltKeeperLogsBrokenSource(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	k := NewSaltKeeper(SaltConfig{Rand: failReader{}, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	k.VisitorID(now, "demo", testIP, testUA, nil)
	if !strings.Contains(buf.String(), "salt source failed") {
		t.Fatalf("broken salt source not logged: %q", buf.String())
	}
	buf.Reset()
	NewSaltKeeper(SaltConfig{Logger: slog.New(slog.NewTextHandler(&buf, nil))}).VisitorID(now, "demo", testIP, testUA, nil)
	if buf.Len() != 0 {
		t.Fatalf("a working salt source logged %q", buf.String())
	}
	NewSaltKeeper(SaltConfig{Rand: failReader{}}).VisitorID(now, "demo", testIP, testUA, nil)
}

// TestSaltOverlapEnds: the overlap is [midnight, midnight+Overlap): at its
// last instant yesterday's salt is gone for VisitorID and for Refresh.
func TestSaltOverlapEnds(t *testing.T) {
	day0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	end := time.Date(2026, 5, 2, 0, 30, 0, 0, time.UTC) // midnight + DefaultSaltOverlap
	now := day0
	k := NewSaltKeeper(SaltConfig{Now: func() time.Time { return now }})
	id0 := k.VisitorID(day0, "demo", testIP, testUA, nil)
	if id := k.VisitorID(end.Add(-time.Second), "demo", testIP, testUA, liveSet{id0}); id != id0 {
		t.Fatal("a visit running since yesterday lost its ID in the overlap")
	}
	if id := k.VisitorID(end, "demo", testIP, testUA, liveSet{id0}); id == id0 {
		t.Fatal("yesterday's ID used at the end of the overlap")
	}
	now = end
	if err := k.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	noTrace(t, k, dayNumber(end))
}

// TestSaltPremint: tomorrow's salt is minted from saltPremint before
// midnight on, not earlier, and a successful premint reports no error.
func TestSaltPremint(t *testing.T) {
	at := time.Date(2026, 5, 1, 23, 55, 0, 0, time.UTC)
	now := at.Add(-time.Second)
	k := NewSaltKeeper(SaltConfig{Now: func() time.Time { return now }})
	if err := k.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	noTrace(t, k, dayNumber(at))
	now = at
	if err := k.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	noTrace(t, k, dayNumber(at), dayNumber(at)+1)
}

// TestSaltKeeperEvictsOldest: with three days held, a fourth replaces the
// oldest.
func TestSaltKeeperEvictsOldest(t *testing.T) {
	k := NewSaltKeeper(SaltConfig{})
	k.mu.Lock()
	for _, d := range []int64{11, 10, 12, 13} {
		k.install(d, [32]byte{byte(d)}, false)
	}
	k.mu.Unlock()
	noTrace(t, k, 11, 12, 13)
}

// TestSaltStorePurge: the Store is purged of old days once a day, after
// the overlap.
func TestSaltStorePurge(t *testing.T) {
	now := time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC)
	st := &memStore{salts: map[int64][32]byte{dayNumber(now) - 2: {1}}}
	k := NewSaltKeeper(SaltConfig{Store: st, Now: func() time.Time { return now }})
	for range 2 {
		if err := k.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if st.deletes != 1 {
		t.Fatalf("%d purges of the store in one day, want 1", st.deletes)
	}
	if _, ok := st.salts[dayNumber(now)-2]; ok {
		t.Fatal("an old salt is still in the store")
	}
}

// TestSaltRunLogsRefreshErrors: Run logs a failing Refresh while it runs.
func TestSaltRunLogsRefreshErrors(t *testing.T) {
	for _, fail := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			var buf bytes.Buffer
			k := NewSaltKeeper(SaltConfig{Store: &memStore{fail: fail}, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = k.Run(ctx); close(done) }()
			synctest.Wait()
			cancel()
			<-done
			if got := strings.Contains(buf.String(), "salt refresh failed"); got != fail {
				t.Fatalf("store failing %v: log %q", fail, buf.String())
			}
		})
	}
}

// TestSaltNextWake: Run wakes for the premint, midnight and the end of the
// overlap even when Sync is longer.
func TestSaltNextWake(t *testing.T) {
	k := NewSaltKeeper(SaltConfig{Sync: 3 * time.Hour})
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		at   time.Duration // since midnight
		want time.Duration
	}{
		{23*time.Hour + 50*time.Minute, 5 * time.Minute},
		{23*time.Hour + 56*time.Minute, 4 * time.Minute},
		{10 * time.Minute, 20 * time.Minute},
		{time.Hour, 3 * time.Hour},
	} {
		if got := k.nextWake(day.Add(tt.at)); got != tt.want {
			t.Errorf("nextWake at %v = %v, want %v", tt.at, got, tt.want)
		}
	}
}

// TestSaltStoreAdopt: the keeper adopts the Store's salts, today's and,
// during the overlap, yesterday's.
func TestSaltStoreAdopt(t *testing.T) {
	now := time.Date(2026, 5, 2, 0, 10, 0, 0, time.UTC)
	today := dayNumber(now)
	st := &memStore{salts: map[int64][32]byte{today - 1: {1}, today: {2}}}
	k := NewSaltKeeper(SaltConfig{Store: st, Now: func() time.Time { return now }})
	if err := k.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	noTrace(t, k, today-1, today)
	for d, want := range st.salts {
		if got, _ := slotSalt(k, d); got != want {
			t.Errorf("day %d: the keeper did not adopt the store's salt", d-today)
		}
	}
}

// TestSaltStoreShare: a salt minted before the Store was reachable is the
// one offered, so IDs do not change when the Store comes back; a salt
// another collector stored first wins.
func TestSaltStoreShare(t *testing.T) {
	now := time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC)
	today := dayNumber(now)
	st := &memStore{}
	k := NewSaltKeeper(SaltConfig{Store: st, Now: func() time.Time { return now }})
	id := k.VisitorID(now, "demo", testIP, testUA, nil)
	local, _ := slotSalt(k, today)
	if err := k.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.salts[today] != local || k.VisitorID(now, "demo", testIP, testUA, nil) != id {
		t.Fatal("the locally minted salt was not the one shared")
	}

	other := [32]byte{9}
	st = &memStore{preempt: &other}
	k = NewSaltKeeper(SaltConfig{Store: st, Now: func() time.Time { return now }})
	if err := k.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := slotSalt(k, today); got != other {
		t.Fatal("the keeper kept its own salt over the one the store agreed")
	}
}

// TestSaltStorePutFails: when the Store takes no salt the keeper still has
// one, and Refresh reports the failure.
func TestSaltStorePutFails(t *testing.T) {
	now := time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC)
	k := NewSaltKeeper(SaltConfig{Store: &memStore{failPut: true}, Now: func() time.Time { return now }})
	if err := k.Refresh(context.Background()); err == nil {
		t.Fatal("a failed PutSalt not reported")
	}
	noTrace(t, k, dayNumber(now))
	salt, _ := slotSalt(k, dayNumber(now))
	if salt == ([32]byte{}) {
		t.Fatal("the keeper's own salt is zero")
	}
}

// TestSaltDaysSorted: Days lists the days oldest first whatever the slots.
func TestSaltDaysSorted(t *testing.T) {
	k := NewSaltKeeper(SaltConfig{})
	k.mu.Lock()
	for _, d := range []int64{12, 10, 11} {
		k.install(d, [32]byte{1}, false)
	}
	k.mu.Unlock()
	got := k.Days()
	if len(got) != 3 || !got[0].Equal(dayTime(10)) || !got[1].Equal(dayTime(11)) || !got[2].Equal(dayTime(12)) {
		t.Fatalf("Days() = %v", got)
	}
}
