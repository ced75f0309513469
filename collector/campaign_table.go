package collector

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// CampaignTable is the Campaigns of a running collector: an immutable map
// swapped whole on every Refresh, so a lookup on the hit path is one
// atomic load and a map read, without lock or allocation. Where the
// campaigns come from (and the wipe of closed campaigns' keys) is its
// load function's business: the collector does not reach storage.
type CampaignTable struct {
	load  func(ctx context.Context) (map[string]CampaignKeys, error)
	log   *slog.Logger
	table atomic.Pointer[map[string]CampaignKeys]
}

// NewCampaignTable returns an empty table that Refresh fills with load.
func NewCampaignTable(load func(ctx context.Context) (map[string]CampaignKeys, error), log *slog.Logger) *CampaignTable {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &CampaignTable{load: load, log: log}
	empty := map[string]CampaignKeys{}
	t.table.Store(&empty)
	return t
}

// Lookup implements Campaigns.
func (t *CampaignTable) Lookup(id string) (CampaignKeys, bool) {
	c, ok := (*t.table.Load())[id]
	return c, ok
}

// Refresh replaces the table with what load returns; on failure the
// table in use stays.
func (t *CampaignTable) Refresh(ctx context.Context) error {
	m, err := t.load(ctx)
	if err != nil {
		return err
	}
	t.table.Store(&m)
	return nil
}

// Run refreshes every `every` until ctx ends, and every second until the
// first refresh succeeds (storage may still be out of reach at start).
func (t *CampaignTable) Run(ctx context.Context, every time.Duration) {
	ok := false
	for {
		if err := t.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if ok {
				t.log.Warn("campaign table not refreshed; the previous one stays in use", "err", err)
			}
		} else {
			ok = true
		}
		wait := every
		if !ok {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
