package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/storage"
)

// visits is the per-process state behind visitor IDs and sessions: the
// salt keeper (salts shared through the RAM-only salts table), the session
// cache and the writer of its rows. Both talk to storage through sqlLink,
// so they work — in memory — before storage is reached and catch up when
// it is.
type visits struct {
	keeper   *enrich.SaltKeeper
	sessions *enrich.Sessions
	writer   *storage.SessionWriter

	stop     func()
	done     sync.WaitGroup
	stopOnce sync.Once
	log      *slog.Logger
}

// startVisits starts the salt keeper, the session cache and the session
// writer's flush loop. With a simulated clock (now != nil) the salts stay
// in this process's memory, never in the shared salts table.
func startVisits(store *storageLink, now func() time.Time, log *slog.Logger) *visits {
	db := sqlLink{store}
	salts := enrich.SaltConfig{Store: storage.NewSalts(db), Logger: log}
	if now != nil {
		salts = enrich.SaltConfig{Now: now, Logger: log}
	}
	v := &visits{
		log:    log,
		keeper: enrich.NewSaltKeeper(salts),
		writer: storage.NewSessionWriter(db, storage.SessionWriterConfig{Logger: log}),
	}
	v.sessions = enrich.NewSessions(enrich.SessionConfig{Sink: sessionRows{v.writer}})
	ctx, cancel := context.WithCancel(context.Background())
	v.stop = cancel
	v.done.Add(2)
	go func() { defer v.done.Done(); _ = v.keeper.Run(ctx) }()
	go func() { defer v.done.Done(); v.writer.Run(ctx) }()
	return v
}

// connected shares the salt minted in memory while storage was out of
// reach (or adopts the one another collector stored) at once, rather than
// at the keeper's next periodic sync.
func (v *visits) connected(ctx context.Context) {
	if err := v.keeper.Refresh(ctx); err != nil && ctx.Err() == nil {
		v.log.Warn("salt not shared yet; the keeper retries", "err", err)
	}
}

// close writes the pending session rows and wipes the salts from memory;
// call it after the collector has stopped and before storage closes.
func (v *visits) close() {
	v.stopOnce.Do(func() {
		v.stop()
		v.done.Wait()
	})
}

// sessionRows passes the session cache's updates to the writer.
type sessionRows struct{ w *storage.SessionWriter }

func (s sessionRows) AppendSessionRows(u *enrich.SessionUpdate) {
	if u.HasCancel {
		s.w.Append(&u.Cancel, &u.State)
		return
	}
	s.w.Append(&u.State)
}

// sqlLink is storage.SQL on whichever engine storageLink has connected.
// Until then every call fails, and its callers (the salt keeper, the
// session writer) keep their state in memory and retry.
type sqlLink struct{ s *storageLink }

var errNoStorage = fmt.Errorf("storage not reached yet: %w", storage.ErrUnavailable)

func (l sqlLink) db() (storage.SQL, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	switch {
	case l.s.engine != nil:
		return l.s.engine, nil
	case l.s.opened != nil: // embedded: open before serving starts
		return l.s.opened, nil
	}
	return nil, errNoStorage
}

func (l sqlLink) ExecSQL(ctx context.Context, query string) error {
	db, err := l.db()
	if err != nil {
		return err
	}
	return db.ExecSQL(ctx, query)
}

func (l sqlLink) QuerySQL(ctx context.Context, query string) (*storage.Rows, error) {
	db, err := l.db()
	if err != nil {
		return nil, err
	}
	return db.QuerySQL(ctx, query)
}

func (l sqlLink) InsertRowSQL(ctx context.Context, insert string, values ...any) error {
	db, err := l.db()
	if err != nil {
		return err
	}
	return db.InsertRowSQL(ctx, insert, values...)
}

func (l sqlLink) InsertRowsSQL(ctx context.Context, insert string, rows [][]any) error {
	db, err := l.db()
	if err != nil {
		return err
	}
	return db.InsertRowsSQL(ctx, insert, rows)
}

// InsertSessions forwards to the engine's fast path for sessions rows
// (storage.SessionInserter), which both engines have.
func (l sqlLink) InsertSessions(ctx context.Context, rows []mote.SessionRow) error {
	db, err := l.db()
	if err != nil {
		return err
	}
	return storage.InsertSessionRows(ctx, db, rows)
}
