package dashboards

import (
	"context"
	"errors"
	"sync"

	"github.com/mote-analytics/mote/storage"
)

// sharedReads is storage.SQL whose QuerySQL runs a query once for all the
// callers that ask for the same text while it is running. Dashboards ask
// alike: everyone who opens a site's dashboard for the same period sends the
// same dozen queries, and chDB answers one query at a time, so twenty
// users queue twenty copies of each. A caller that arrives after a run
// ended starts a new one: nothing is cached, every answer was computed
// after its request arrived or while it waited.
//
// At most maxQueries runs reach the engine at once; the others wait for as
// long as their callers do. Without the bound, twenty dashboard users on a
// ClickHouse server took every connection of the engine's pool: queries
// failed after the pool's 5 s wait ("acquire conn timeout"), and so could
// the collector's inserts, which share that pool.
//
// The rows are shared between the callers; the stats functions only read
// them (Rows.Scan copies values out).
type sharedReads struct {
	storage.SQL

	slots chan struct{} // one per run reaching the engine

	mu      sync.Mutex
	running map[string]*sharedRun
}

// sharedRun is one execution of a query and what it returned.
type sharedRun struct {
	done    chan struct{}
	rows    *storage.Rows
	err     error
	waiters int // callers that joined, under sharedReads.mu (tests wait on it)
}

// DefaultMaxQueries is how many stats queries reach storage at once unless
// configured: two leave the server engine's default pool of four
// connections room for the collector's inserts, and a query already uses
// every core of a small server.
const DefaultMaxQueries = 2

// errSharedRunAborted is what the waiters of a run get if it ended without
// returning (a panic in the engine).
var errSharedRunAborted = errors.New("stats query: the shared run of this query did not finish")

func newSharedReads(db storage.SQL, maxQueries int) *sharedReads {
	if maxQueries <= 0 {
		maxQueries = DefaultMaxQueries
	}
	return &sharedReads{SQL: db, slots: make(chan struct{}, maxQueries), running: map[string]*sharedRun{}}
}

// QuerySQL joins the run of query under way, or starts one. A caller whose
// context ends stops waiting; the run goes on for the others. If a run
// failed only because the context of the caller that started it ended,
// the callers still waiting run the query again themselves.
func (s *sharedReads) QuerySQL(ctx context.Context, query string) (*storage.Rows, error) {
	s.mu.Lock()
	run, joined := s.running[query]
	if joined {
		run.waiters++
	} else {
		run = &sharedRun{done: make(chan struct{})}
		s.running[query] = run
	}
	s.mu.Unlock()
	if !joined {
		// Deferred, so that waiters are released (with an error) even if
		// the engine panics.
		defer func() {
			s.mu.Lock()
			delete(s.running, query)
			s.mu.Unlock()
			close(run.done)
		}()
		run.err = errSharedRunAborted
		run.rows, run.err = s.query(ctx, query)
		return run.rows, run.err
	}
	select {
	case <-run.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if run.err != nil && (errors.Is(run.err, context.Canceled) || errors.Is(run.err, context.DeadlineExceeded)) && ctx.Err() == nil {
		return s.query(ctx, query)
	}
	return run.rows, run.err
}

// query runs query on the engine once a slot is free.
func (s *sharedReads) query(ctx context.Context, query string) (*storage.Rows, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.slots }()
	return s.SQL.QuerySQL(ctx, query)
}
