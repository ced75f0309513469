package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/spool"
)

// Store is what a collector needs of an engine: the write path (Engine),
// SQL for everything else, and the suppression counters.
type Store interface {
	Engine
	SQL
	SuppressedWriter
}

// LinkConfig configures a Link.
type LinkConfig struct {
	// Open opens the engine (Link migrates it). Required.
	Open func(ctx context.Context) (Store, error)
	// Spool is what the Batcher drains into the engine. Required.
	Spool *spool.Spool
	// Batch configures the Batcher.
	Batch BatcherConfig
	// Sites are the sites whose retention Link enforces, and whose days
	// the Batcher counts (unless Batch.Sites says otherwise).
	Sites []mote.Site
	// Suppressions are the privacy gate's counters, written every
	// SuppressionFlush and at Drain.
	Suppressions *Suppressions
	// OnConnect runs (in its own goroutine) once the engine is reached
	// and migrated, e.g. to share a salt minted while it was not.
	OnConnect func(ctx context.Context)
	// Logger receives the link's warnings; nil discards them.
	Logger *slog.Logger
}

// How often Link writes the suppression counters (they are not spooled,
// so this bounds what a crash loses) and enforces retention.
const (
	SuppressionFlush = 10 * time.Second
	RetentionEvery   = 24 * time.Hour
)

// Link keeps a collector connected to its engine: it opens and migrates
// the engine, retrying with backoff while it cannot be reached (hits wait
// in the spool meanwhile, from the first second), then runs the Batcher,
// writes the suppression counters and enforces each site's retention.
// Link is also SQL (and SessionInserter) on whichever engine it has
// reached: until then every call fails with ErrUnavailable, and callers
// (the salt keeper, the session rebuild, the stats API) keep their state or
// answer 503 and retry.
type Link struct {
	cfg       LinkConfig
	connected chan struct{}

	mu      sync.Mutex
	engine  Store // reached and migrated
	batcher *Batcher
}

// NewLink returns a link that connects when Connect or Run is called.
func NewLink(cfg LinkConfig) *Link {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Suppressions == nil {
		cfg.Suppressions = new(Suppressions)
	}
	return &Link{cfg: cfg, connected: make(chan struct{})}
}

// Connect opens and migrates the engine now. An in-process engine is
// connected before serving: if it cannot open (library missing, data
// directory not writable), the operator must act, and retrying would only
// hide it.
func (l *Link) Connect(ctx context.Context) error {
	eng, err := l.open(ctx)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.engine = eng
	l.mu.Unlock()
	return nil
}

func (l *Link) open(ctx context.Context) (Store, error) { return OpenMigrated(ctx, l.cfg.Open) }

// Connected is closed once the engine is reached and the Batcher runs.
func (l *Link) Connected() <-chan struct{} { return l.connected }

// Run connects (unless Connect did), then runs the Batcher until ctx ends.
func (l *Link) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		l.mu.Lock()
		eng := l.engine
		l.mu.Unlock()
		var err error
		if eng == nil {
			eng, err = l.open(ctx)
		}
		if err == nil {
			l.serve(ctx, eng)
			return
		}
		l.cfg.Logger.Warn("storage unavailable, hits are kept in the spool", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// serve runs the Batcher and the periodic writers on a reached engine.
func (l *Link) serve(ctx context.Context, eng Store) {
	bc := l.cfg.Batch
	if bc.Sites == nil {
		bc.Sites = l.cfg.Sites
	}
	b := NewBatcher(l.cfg.Spool, eng, bc, l.cfg.Logger)
	l.mu.Lock()
	l.engine, l.batcher = eng, b
	l.mu.Unlock()
	close(l.connected)
	if l.cfg.OnConnect != nil {
		go l.cfg.OnConnect(ctx)
	}
	go l.every(ctx, SuppressionFlush, false, func() {
		if err := l.cfg.Suppressions.Flush(ctx, eng); err != nil && ctx.Err() == nil {
			l.cfg.Logger.Warn("suppression counters not written; kept for the next flush", "err", err)
		}
	})
	go l.every(ctx, RetentionEvery, true, func() {
		n, err := EnforceRetention(ctx, eng, l.cfg.Sites, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			l.cfg.Logger.Warn("retention not enforced; retried tomorrow", "err", err)
		case n > 0:
			l.cfg.Logger.Info("rows past their site's retention deleted", "rows", n)
		}
	})
	if err := b.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		l.cfg.Logger.Error("batcher stopped", "err", err)
	}
}

// every runs f every d until ctx ends (and once at once when now is set).
func (l *Link) every(ctx context.Context, d time.Duration, now bool, f func()) {
	if now {
		f()
	}
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// Drain inserts what the spool holds and the suppression counters, if the
// engine was ever reached. Call it after Run has returned.
func (l *Link) Drain(ctx context.Context) error {
	l.mu.Lock()
	b, eng := l.batcher, l.engine
	l.mu.Unlock()
	if b == nil {
		return errors.New("storage never became reachable")
	}
	return errors.Join(b.Drain(ctx), l.cfg.Suppressions.Flush(ctx, eng))
}

// Close closes the engine.
func (l *Link) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.engine != nil {
		l.engine.Close()
	}
}

// Ready is /readyz: the spool accepts hits (it absorbs an outage up to its
// cap), or the engine answers (so the spool is about to drain).
func (l *Link) Ready() bool {
	if l.cfg.Spool.Accepting() {
		return true
	}
	l.mu.Lock()
	eng := l.engine
	l.mu.Unlock()
	if eng == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return eng.Ping(ctx) == nil
}

// Suppressions are the counters the link writes (LinkConfig.Suppressions,
// or its own).
func (l *Link) Suppressions() *Suppressions { return l.cfg.Suppressions }

// BatcherCounters is zero until the engine was first reached.
func (l *Link) BatcherCounters() BatcherCounters {
	l.mu.Lock()
	b := l.batcher
	l.mu.Unlock()
	if b == nil {
		return BatcherCounters{}
	}
	return b.Counters()
}

// ErrNotReached is what Link answers before it has reached its engine; it
// is also ErrUnavailable.
var ErrNotReached = fmt.Errorf("storage not reached yet: %w", ErrUnavailable)

func (l *Link) db() (Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.engine == nil {
		return nil, ErrNotReached
	}
	return l.engine, nil
}

// Cluster and Database make a Link Clustered as its engine is, so that
// MutationTarget aims a mutation sent through it (campaign key wipes,
// superseded day summaries) at the local tables of a cluster: "" before
// the engine is reached, and on one server.
func (l *Link) Cluster() string {
	if c, ok := l.clustered(); ok {
		return c.Cluster()
	}
	return ""
}

func (l *Link) Database() string {
	if c, ok := l.clustered(); ok {
		return c.Database()
	}
	return ""
}

func (l *Link) clustered() (Clustered, bool) {
	db, err := l.db()
	if err != nil {
		return nil, false
	}
	c, ok := db.(Clustered)
	return c, ok
}

// ExecSQL implements SQL on the engine reached.
func (l *Link) ExecSQL(ctx context.Context, query string) error {
	db, err := l.db()
	if err != nil {
		return err
	}
	return db.ExecSQL(ctx, query)
}

// QuerySQL implements SQL on the engine reached.
func (l *Link) QuerySQL(ctx context.Context, query string) (*Rows, error) {
	db, err := l.db()
	if err != nil {
		return nil, err
	}
	return db.QuerySQL(ctx, query)
}

// InsertRowSQL implements SQL on the engine reached.
func (l *Link) InsertRowSQL(ctx context.Context, insert string, values ...any) error {
	db, err := l.db()
	if err != nil {
		return err
	}
	return db.InsertRowSQL(ctx, insert, values...)
}

// InsertRowsSQL implements SQL on the engine reached.
func (l *Link) InsertRowsSQL(ctx context.Context, insert string, rows [][]any) error {
	db, err := l.db()
	if err != nil {
		return err
	}
	return db.InsertRowsSQL(ctx, insert, rows)
}

// InsertSessions implements SessionInserter with the engine's fast path.
func (l *Link) InsertSessions(ctx context.Context, rows []mote.SessionRow) error {
	db, err := l.db()
	if err != nil {
		return err
	}
	return InsertSessionRows(ctx, db, rows)
}

// ScanSessions implements SessionScanner where the engine does (the
// rebuild's read of active visits), else runs the query through QuerySQL.
func (l *Link) ScanSessions(ctx context.Context, query string, fn func(*mote.SessionRow)) error {
	db, err := l.db()
	if err != nil {
		return err
	}
	return scanSessions(ctx, db, query, fn)
}
