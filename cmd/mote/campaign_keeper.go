package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mote-analytics/mote/collector"
	"github.com/mote-analytics/mote/storage"
)

// campaignRefreshEvery is how often serve wipes the keys of campaigns whose
// window has closed and reloads the collector's campaign table: a campaign
// created with `mote campaign create` is tracked at most this long after.
const campaignRefreshEvery = 15 * time.Second

// campaignKeeper is the collector's campaign table (collector.Campaigns):
// an immutable map swapped whole on every refresh, so a lookup on the hit
// path is one atomic load and a map read, without lock or allocation.
// It also runs the key wipe: the keys of a closed campaign are destroyed
// in storage (storage.Campaigns.WipeClosed) and dropped from memory.
type campaignKeeper struct {
	store *storage.Campaigns
	now   func() time.Time
	log   *slog.Logger
	table atomic.Pointer[map[string]collector.CampaignKeys]
}

func newCampaignKeeper(db storage.SQL, now func() time.Time, log *slog.Logger) *campaignKeeper {
	k := &campaignKeeper{store: storage.NewCampaigns(db), now: now, log: log}
	empty := map[string]collector.CampaignKeys{}
	k.table.Store(&empty)
	return k
}

// Lookup implements collector.Campaigns.
func (k *campaignKeeper) Lookup(id string) (collector.CampaignKeys, bool) {
	c, ok := (*k.table.Load())[id]
	return c, ok
}

// refresh wipes the keys of campaigns closed by now, then reloads the
// table. A campaign whose window has passed is handed to the collector as
// wiped even if the wipe failed (it is retried next time): its hits must
// stop being stored on time either way.
func (k *campaignKeeper) refresh(ctx context.Context) error {
	now := k.now()
	wiped, err := k.store.WipeClosed(ctx, now)
	for _, id := range wiped {
		k.log.Info("campaign window closed; its keys are wiped and its recipient ids can no longer be linked to any token", "campaign", id)
	}
	switch {
	case errors.Is(err, storage.ErrNotReached):
		return err // run retries quietly until storage is reached
	case err != nil:
		k.log.Warn("campaign keys not wiped yet; retrying", "err", err)
	}
	all, err := k.store.List(ctx)
	if err != nil {
		return err
	}
	table := make(map[string]collector.CampaignKeys, len(all))
	for _, c := range all {
		keys := collector.CampaignKeys{ID: c.ID, SiteID: c.SiteID, WindowEnd: c.WindowEnd}
		usable := !c.Wiped() && now.Before(c.WindowEnd) &&
			len(c.RecipientKey) == len(keys.Recipient) && len(c.LinkKey) == len(keys.Link)
		if usable {
			copy(keys.Recipient[:], c.RecipientKey)
			copy(keys.Link[:], c.LinkKey)
		} else {
			keys.Wiped = true
		}
		table[c.ID] = keys
	}
	k.table.Store(&table)
	return nil
}

// run refreshes every campaignRefreshEvery until ctx ends; every second
// until the first refresh succeeds (storage may still be out of reach).
func (k *campaignKeeper) run(ctx context.Context) {
	ok := false
	for {
		if err := k.refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if ok {
				k.log.Warn("campaign table not refreshed; the previous one stays in use", "err", err)
			}
		} else {
			ok = true
		}
		wait := campaignRefreshEvery
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

// startCampaigns starts the keeper on serve's storage link; the returned
// function stops it (and may be called more than once).
func startCampaigns(db storage.SQL, now func() time.Time, log *slog.Logger) (*campaignKeeper, func()) {
	if now == nil {
		now = time.Now
	}
	k := newCampaignKeeper(db, now, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); k.run(ctx) }()
	var once sync.Once
	return k, func() { once.Do(func() { cancel(); <-done }) }
}
