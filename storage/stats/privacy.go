package stats

import (
	"context"
	"fmt"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// PrivacyReport is what the dashboard's privacy card shows: how many hits
// were stored and how many were not, by reason, over whole UTC days.
type PrivacyReport struct {
	From, To time.Time // the first and the last UTC day counted
	Stored   uint64    // stored pageviews and custom events
	// Suppressed counts hits not stored, by mote.SuppressReason label.
	Suppressed map[string]uint64
}

// SuppressedTotal is the sum of r.Suppressed.
func (r PrivacyReport) SuppressedTotal() uint64 {
	var n uint64
	for _, c := range r.Suppressed {
		n += c
	}
	return n
}

// Privacy counts stored and suppressed hits of q.SiteID on the UTC days
// that the period q.From..q.To touches. Suppression counters exist per UTC
// day only (they carry no time of day, on purpose), so the report is
// rounded out to whole UTC days and stored hits are counted over the same
// days, to keep the share honest. Filters do not apply: a suppressed hit
// has no page, source or place.
func Privacy(ctx context.Context, db storage.SQL, q Query) (PrivacyReport, error) {
	if _, err := q.plan(); err != nil {
		return PrivacyReport{}, err
	}
	first := q.From.UTC().Truncate(24 * time.Hour)
	last := q.To.Add(-time.Second).UTC().Truncate(24 * time.Hour)
	r := PrivacyReport{From: first, To: last, Suppressed: map[string]uint64{}}
	days := fmt.Sprintf("toDate(%s) AND toDate(%s)", storage.Quote(first.Format(time.DateOnly)), storage.Quote(last.Format(time.DateOnly)))
	rows, err := db.QuerySQL(ctx, "SELECT reason, sum(count) FROM suppressed WHERE site_id = "+storage.Quote(q.SiteID)+
		" AND day BETWEEN "+days+" GROUP BY reason")
	if err != nil {
		return PrivacyReport{}, fmt.Errorf("suppressed counts: %w", err)
	}
	for i := range rows.Values {
		var reason string
		var n uint64
		if err := rows.Scan(i, &reason, &n); err != nil {
			return PrivacyReport{}, fmt.Errorf("suppressed counts: %w", err)
		}
		r.Suppressed[reason] = n
	}
	err = storage.QueryRow(ctx, db, "SELECT count() FROM events WHERE site_id = "+storage.Quote(q.SiteID)+
		" AND toDate(ts) BETWEEN "+days+" AND kind IN ('pageview', 'event')", &r.Stored)
	if err != nil {
		return PrivacyReport{}, fmt.Errorf("stored hits: %w", err)
	}
	return r, nil
}
