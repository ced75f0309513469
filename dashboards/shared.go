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
// The rows are shared between the callers; the stats functions only read
// them (Rows.Scan copies values out).
type sharedReads struct {
	storage.SQL

	mu      sync.Mutex
	running map[string]*sharedRun
}

// sharedRun is one execution of a query and what it returned.
type sharedRun struct {
	done    chan struct{}
	rows    *storage.Rows
	err     error
	waiters int // callers that joined, under sharedReads.mu
}

// errSharedRunAborted is what the waiters of a run get if it ended without
// returning (a panic in the engine).
var errSharedRunAborted = errors.New("stats query: the shared run of this query did not finish")

func newSharedReads(db storage.SQL) *sharedReads {
	return &sharedReads{SQL: db, running: map[string]*sharedRun{}}
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
		run.rows, run.err = s.SQL.QuerySQL(ctx, query)
		return run.rows, run.err
	}
	select {
	case <-run.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if run.err != nil && (errors.Is(run.err, context.Canceled) || errors.Is(run.err, context.DeadlineExceeded)) && ctx.Err() == nil {
		return s.SQL.QuerySQL(ctx, query)
	}
	return run.rows, run.err
}
