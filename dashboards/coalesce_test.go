package dashboards

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// countingSQL counts the queries that reach the real engine, and the
// most that were in it at once.
type countingSQL struct {
	storage.SQL
	queries, inFlight, maxInFlight atomic.Int32
}

func (c *countingSQL) QuerySQL(ctx context.Context, q string) (*storage.Rows, error) {
	c.queries.Add(1)
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for m := c.maxInFlight.Load(); n > m && !c.maxInFlight.CompareAndSwap(m, n); m = c.maxInFlight.Load() {
	}
	return c.SQL.QuerySQL(ctx, q)
}

// TestSharedReadsBound sends five different queries at once with room for
// two: all are answered, never more than two are in the engine at once,
// and a caller that gives up while waiting for a slot gets its context's
// error.
func TestSharedReadsBound(t *testing.T) {
	eng, _ := seeded(t)
	db := &countingSQL{SQL: eng}
	s := newSharedReads(db, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.QuerySQL(ctx, fmt.Sprintf("SELECT sleep(0.3), %d", i))
		}()
	}
	for len(s.slots) < cap(s.slots) {
		time.Sleep(time.Millisecond)
	}
	quitter, quit := context.WithTimeout(ctx, 50*time.Millisecond)
	defer quit()
	if _, err := s.QuerySQL(quitter, "SELECT 'waits for a slot'"); err != context.DeadlineExceeded {
		t.Errorf("a caller that gave up waiting for a slot: err %v, want context.DeadlineExceeded", err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("query %d: %v", i, err)
		}
	}
	if got, max := db.queries.Load(), db.maxInFlight.Load(); got != 5 || max != 2 {
		t.Fatalf("%d queries reached the engine, at most %d at once; want 5, at most 2", got, max)
	}
}

// TestSharedReads sends the same 2-second query from eight callers at once
// through sharedReads to chDB: it runs once and all get its rows; a caller
// that gives up stops waiting without failing the others; a query asked
// after the run ended runs again (nothing is cached).
func TestSharedReads(t *testing.T) {
	eng, _ := seeded(t)
	db := &countingSQL{SQL: eng}
	s := newSharedReads(db, 0)
	const q = "SELECT sleep(2), toUInt64(42)"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const callers = 8
	results := make([]*storage.Rows, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.QuerySQL(ctx, q)
		}()
	}
	// One more caller that gives up while the run is under way: it asks
	// once every caller has joined the one run (the run sleeps 2 s).
	waitJoined(t, s, q, callers-1)
	quitter, quit := context.WithTimeout(ctx, 200*time.Millisecond)
	defer quit()
	if _, err := s.QuerySQL(quitter, q); err != context.DeadlineExceeded {
		t.Errorf("a caller whose context ended: err %v, want context.DeadlineExceeded", err)
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !reflect.DeepEqual(results[i].Values, [][]any{{uint64(0), uint64(42)}}) {
			t.Fatalf("caller %d got %v", i, results[i].Values)
		}
	}
	if n := db.queries.Load(); n != 1 {
		t.Fatalf("%d concurrent callers ran the query %d times, want once", callers+1, n)
	}
	if _, err := s.QuerySQL(ctx, q); err != nil {
		t.Fatal(err)
	}
	if n := db.queries.Load(); n != 2 {
		t.Fatalf("a query asked after the run ended ran %d times in all, want 2 (nothing cached)", n)
	}
}

// panickySQL is an engine whose query panics once released: no real
// engine is known to, but a waiter must not hang if one does.
type panickySQL struct {
	storage.SQL
	started, release chan struct{}
}

func (p panickySQL) QuerySQL(context.Context, string) (*storage.Rows, error) {
	close(p.started)
	<-p.release
	panic("engine failure")
}

func TestSharedReadsReleasesWaitersOnPanic(t *testing.T) {
	p := panickySQL{started: make(chan struct{}), release: make(chan struct{})}
	s := newSharedReads(p, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		defer func() { _ = recover() }()
		_, _ = s.QuerySQL(ctx, "q")
	}()
	<-p.started
	waiter := make(chan error, 1)
	go func() { _, err := s.QuerySQL(ctx, "q"); waiter <- err }()
	waitJoined(t, s, "q", 1)
	close(p.release)
	if err := <-waiter; err != errSharedRunAborted {
		t.Fatalf("waiter of a run that panicked: err %v, want errSharedRunAborted", err)
	}
}

// waitJoined returns once n callers have joined the run of query (the
// caller that started it not counted), failing after 10 seconds.
func waitJoined(t *testing.T, s *sharedReads, query string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		joined := 0
		if run := s.running[query]; run != nil {
			joined = run.waiters
		}
		s.mu.Unlock()
		if joined >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers joined the run of %q, want %d", joined, query, n)
		}
	}
}
