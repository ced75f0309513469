package main

import (
	"context"
	"time"

	"github.com/mote-analytics/mote/collector"
	"github.com/mote-analytics/mote/dashboards"
	"github.com/mote-analytics/mote/storage"
)

// campaignAPI hands the admin listener's campaign API (dashboards) what it
// shares with `mote campaign`: making a campaign, signing a link, the
// pixel's path; a create reloads the collector's campaign table at once.
func campaignAPI(cfg *Config, db storage.SQL, table *collector.CampaignTable) *dashboards.Campaigns {
	return &dashboards.Campaigns{
		DB: db,
		New: func(site, name, id, window string, sends uint64) (storage.Campaign, error) {
			return newCampaign(cfg, cliFlags{site: &site, name: &name, id: &id, window: &window, sends: &sends})
		},
		LinkPath:  linkPath,
		PixelPath: pixelPath,
		Created: func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = table.Refresh(ctx) // on failure the periodic refresh catches up
		},
	}
}
