package main

import (
	"context"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// retentionEvery is how often each site's rows past its retention are
// deleted; the first run is at connect.
const retentionEvery = 24 * time.Hour

// enforceRetention deletes rows past each site's retention (privacy
// invariant 9) at connect and then daily, until ctx ends.
func (s *storageLink) enforceRetention(ctx context.Context, db storage.SQL) {
	sites := s.cfg.sites()
	for {
		n, err := storage.EnforceRetention(ctx, db, sites, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("retention not enforced; retried tomorrow", "err", err)
		case n > 0:
			s.log.Info("rows past their site's retention deleted", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retentionEvery):
		}
	}
}
