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
// salt keeper (salts shared through the RAM-only salts table, reached
// through the storage.Link, so that it works in memory before storage is
// reached) and the session cache. The cache's rows travel in the spool
// with the hit they derive from (collector.Sink), so they are stored by
// the Batcher exactly as the hits are; at start the cache is rebuilt (rebuild) so that visits
// in progress continue across a restart.
type visits struct {
	keeper   *enrich.SaltKeeper
	sessions *enrich.Sessions

	// What the last rebuild did, for /metrics and /readyz.
	rebuildSeconds   float64
	restored         int
	incompleteUntil  time.Time // /readyz reports an incomplete rebuild until then
	incompleteReason string

	stop     func()
	done     sync.WaitGroup
	stopOnce sync.Once
	log      *slog.Logger
}

// startVisits starts the salt keeper and creates the session cache. With
// a simulated clock (now != nil) the salts stay in this process's memory,
// never in the shared salts table.
func startVisits(db *storage.Link, now func() time.Time, log *slog.Logger) *visits {
	salts := enrich.SaltConfig{Store: storage.NewSalts(db), Logger: log}
	if now != nil {
		salts = enrich.SaltConfig{Now: now, Logger: log}
	}
	v := &visits{
		log:      log,
		keeper:   enrich.NewSaltKeeper(salts),
		sessions: enrich.NewSessions(enrich.SessionConfig{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	v.stop = cancel
	v.done.Add(1)
	go func() { defer v.done.Done(); _ = v.keeper.Run(ctx) }()
	return v
}

// connected shares the salt minted in memory while storage was out of
// reach (or adopts the one another collector stored) at once, rather than
// at the keeper's next periodic sync.
// The rebuild calls it too, maybe while the storage link's connect hook
// runs it: SaltKeeper.Refresh runs one call at a time, so the second finds
// the salt the first stored instead of storing it again.
func (v *visits) connected(ctx context.Context) {
	if err := v.keeper.Refresh(ctx); err != nil && ctx.Err() == nil {
		v.log.Warn("salt not shared yet; the keeper retries", "err", err)
	}
}

// rebuildWait bounds how long a starting collector waits for a ClickHouse
// server before it rebuilds its session cache from the spool alone.
const rebuildWait = 10 * time.Second

// rebuild restores the session cache before the collector listens: every
// visit state the spool still holds (from its checkpoint: rows storage may
// not have yet), then the latest state of every visit storage holds whose
// last hit is within the idle window (storage.ActiveSessions). The spool
// is read first, so rows the Batcher moves meanwhile are found in storage;
// the cache keeps the highest version of each visit, whatever the order.
// The salt keeper is brought up to date first, so the next hit of a
// visitor hashes to the same visitor ID as before the restart (the salt
// lives in the server's RAM-only salts table; with the embedded engine it
// dies with the process, and so do the visits in progress: see README).
//
// serve binds the collector's socket first and serves it only after
// rebuild returns: hits that arrive meanwhile wait in the kernel's accept
// queue (so they are neither refused nor given new visits by a half-built
// cache) and are answered once the cache is whole; rebuild must
// therefore stay short (bench/BENCHMARKS.md: 6.6-6.9 s for a million
// visits, 1.3 s for 100,000, on an idle 2-core machine). The
// admin listener, /readyz included, also comes up only after it. When
// storage is not reached within rebuildWait, the visits that only storage
// holds start again as new visits; /readyz says so for the idle window.
func (v *visits) rebuild(ctx context.Context, p *pipeline) error {
	t0 := time.Now()
	now := time.Now
	restore := func(r *mote.SessionRow) {
		if v.sessions.Restore(r, now()) {
			v.restored++
		}
	}
	records, err := storage.SpoolSessions(p.spool, restore)
	if err != nil {
		return fmt.Errorf("rebuild sessions: %w", err)
	}
	fromSpool := v.restored
	wctx, cancel := context.WithTimeout(ctx, rebuildWait)
	err = p.waitStorage(wctx)
	cancel()
	if err == nil {
		v.connected(ctx)
		err = storage.ActiveSessions(ctx, p.store, p.spool.ID(), now().Add(-enrich.DefaultSessionIdle), 0, restore)
	}
	v.sessions.Restored()
	v.rebuildSeconds = time.Since(t0).Seconds()
	if err != nil {
		v.incompleteUntil = time.Now().Add(enrich.DefaultSessionIdle)
		v.incompleteReason = "visits in progress before the restart were not restored from storage (unreachable at start); their next hits start new visits"
		v.log.Warn("session cache rebuilt from the spool only: "+v.incompleteReason, "err", err,
			"visits", v.restored, "spool_records", records, "seconds", v.rebuildSeconds)
		return nil
	}
	v.log.Info("session cache rebuilt", "visits", v.sessions.Counters().Active, "rows_from_spool", fromSpool,
		"rows_from_storage", v.restored-fromSpool, "spool_records", records, "seconds", v.rebuildSeconds)
	return nil
}

// degraded is what /readyz adds while the last rebuild was incomplete.
func (v *visits) degraded() string {
	if time.Now().Before(v.incompleteUntil) {
		return v.incompleteReason
	}
	return ""
}

// close wipes the salts from memory; call it after the collector has
// stopped.
func (v *visits) close() {
	v.stopOnce.Do(func() {
		v.stop()
		v.done.Wait()
	})
}
