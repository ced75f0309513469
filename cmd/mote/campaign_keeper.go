package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/mote-analytics/mote/collector"
	"github.com/mote-analytics/mote/storage"
)

// campaignRefreshEvery is how often serve wipes the keys of campaigns whose
// window has closed and reloads the collector's campaign table: a campaign
// created with `mote campaign create` is tracked at most this long after.
const campaignRefreshEvery = 15 * time.Second

// newCampaignTable is the collector's campaign table (collector.CampaignTable)
// loaded from storage's campaigns: the one place that knows both types.
func newCampaignTable(db storage.SQL, now func() time.Time, log *slog.Logger) *collector.CampaignTable {
	return collector.NewCampaignTable(campaignLoader(storage.NewCampaigns(db), now, log), log)
}

// campaignLoader wipes the keys of campaigns closed by now, then lists the
// campaigns as the collector needs them. A campaign whose window has
// passed is handed to the collector as wiped even if the wipe failed (it
// is retried next time): its hits must stop being stored on time either
// way.
func campaignLoader(store *storage.Campaigns, now func() time.Time, log *slog.Logger) func(context.Context) (map[string]collector.CampaignKeys, error) {
	return func(ctx context.Context) (map[string]collector.CampaignKeys, error) {
		now := now()
		wiped, err := store.WipeClosed(ctx, now)
		for _, id := range wiped {
			log.Info("campaign window closed; its keys are wiped and its recipient ids can no longer be linked to any token", "campaign", id)
		}
		switch {
		case errors.Is(err, storage.ErrNotReached):
			return nil, err // the table retries quietly until storage is reached
		case err != nil:
			log.Warn("campaign keys not wiped yet; retrying", "err", err)
		}
		all, err := store.List(ctx)
		if err != nil {
			return nil, err
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
		return table, nil
	}
}

// startCampaigns starts the table's refresh loop on db; the returned
// function stops it (and may be called more than once).
func startCampaigns(db storage.SQL, now func() time.Time, log *slog.Logger) (*collector.CampaignTable, func()) {
	if now == nil {
		now = time.Now
	}
	t := newCampaignTable(db, now, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); t.Run(ctx, campaignRefreshEvery) }()
	var once sync.Once
	return t, func() { once.Do(func() { cancel(); <-done }) }
}
