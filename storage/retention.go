package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/mote-analytics/mote"
)

// EnforceRetention deletes, for every site, the events and sessions older
// than the site's retention (mote.DefaultRetention, 25 months, when it
// sets none) at now, and the day summaries (daily_stats and its
// bookkeeping) of the days before it. It reports how many events and
// sessions rows it asked to delete.
//
// The tables' TTL (on servers that have TTL) is the outer bound; a site
// can only keep less. Deletion is an ALTER TABLE ... DELETE mutation,
// which both engines run in the background; a site with nothing to
// delete costs one count per table and no mutation. Run it daily.
func EnforceRetention(ctx context.Context, db SQL, sites []mote.Site, now time.Time) (uint64, error) {
	var total uint64
	for _, site := range sites {
		keep := site.Retention
		if keep <= 0 {
			keep = mote.DefaultRetention
		}
		cutoff := TimeLit(now.Add(-keep))
		for _, t := range []struct {
			table, before string
			raw           bool
		}{
			{"events", "ts < " + cutoff, true},
			{"sessions", "start_ts < " + cutoff, true},
			// A summary's day is the site's; a day that began before
			// the cutoff in any zone goes.
			{"daily_stats", "day < toDate(" + cutoff + ")", false},
			{"daily_stats_done", "day < toDate(" + cutoff + ")", false},
			{"daily_stats_slots", "slot < " + cutoff, false},
			{"daily_stats_prefixes", "day < toDate(" + cutoff + ")", false},
			{"day_counts", "day < toDate(" + cutoff + ")", false},
		} {
			where := "site_id = " + Quote(site.ID) + " AND " + t.before
			var n uint64
			if err := QueryRow(ctx, db, "SELECT count() FROM "+t.table+" WHERE "+where, &n); err != nil {
				return total, fmt.Errorf("retention of site %s: %w", site.ID, err)
			}
			if n == 0 {
				continue
			}
			if err := db.ExecSQL(ctx, "ALTER TABLE "+MutationTarget(db, t.table)+" DELETE WHERE "+where); err != nil {
				return total, fmt.Errorf("retention of site %s: delete from %s: %w", site.ID, t.table, err)
			}
			if t.raw {
				total += n
			}
		}
	}
	return total, nil
}
