package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/storage"
)

// visits is the per-process state behind visitor IDs and sessions: the
// salt keeper (salts shared through the RAM-only salts table), the session
// cache and the writer of its rows. Both talk to storage through the storage.Link,
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
func startVisits(db *storage.Link, now func() time.Time, log *slog.Logger) *visits {
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
