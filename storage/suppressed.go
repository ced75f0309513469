package storage

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mote-analytics/mote"
)

// SuppressedCount is one row of the suppressed table: how many hits of a
// site were not stored on a UTC day, and why. It is the only trace a
// suppressed hit leaves: no visitor, page or time of day.
type SuppressedCount struct {
	SiteID string
	Day    time.Time // UTC midnight
	Reason mote.SuppressReason
	Count  uint64
}

// insertSuppressed is the suppressed table's insert, in its column order.
const insertSuppressed = "INSERT INTO suppressed (site_id, day, reason, count)"

// InsertSuppressed adds rows to db's suppressed table (a SummingMergeTree:
// readers sum(count)) as one block.
func InsertSuppressed(ctx context.Context, db SQL, rows []SuppressedCount) error {
	if len(rows) == 0 {
		return nil
	}
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = []any{r.SiteID, r.Day.UTC(), r.Reason.String(), r.Count}
	}
	if err := db.InsertRowsSQL(ctx, insertSuppressed, values); err != nil {
		return fmt.Errorf("insert suppressed: %w", err)
	}
	return nil
}

// Suppressions accumulates suppression counters in memory between flushes.
// Counting a suppressed hit costs a map increment under a mutex and does
// not allocate once the (site, day, reason) key exists. The counts are not
// spooled: losing a few seconds of anonymous counters in a crash is
// acceptable, losing an accepted hit is not.
type Suppressions struct {
	mu     sync.Mutex
	counts map[suppressKey]uint64
}

type suppressKey struct {
	site   string
	day    int64 // days since the Unix epoch, UTC
	reason mote.SuppressReason
}

// Suppress counts one suppressed hit. siteID must be the configured site
// id (a long-lived string), not a string aliasing a request buffer.
func (s *Suppressions) Suppress(siteID string, reason mote.SuppressReason, ts time.Time) {
	k := suppressKey{site: siteID, day: ts.Unix() / 86400, reason: reason}
	if ts.Unix() < 0 {
		k.day = (ts.Unix() - 86399) / 86400
	}
	s.mu.Lock()
	if s.counts == nil {
		s.counts = make(map[suppressKey]uint64)
	}
	s.counts[k]++
	s.mu.Unlock()
}

// Flush writes the counts gathered since the last successful flush. On
// failure the counts are kept and added to the next flush.
func (s *Suppressions) Flush(ctx context.Context, w SuppressedWriter) error {
	s.mu.Lock()
	taken := s.counts
	s.counts = nil
	s.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	rows := make([]SuppressedCount, 0, len(taken))
	for k, n := range taken {
		rows = append(rows, SuppressedCount{
			SiteID: k.site,
			Day:    time.Unix(k.day*86400, 0).UTC(),
			Reason: k.reason,
			Count:  n,
		})
	}
	if err := w.InsertSuppressed(ctx, rows); err != nil {
		s.mu.Lock()
		if s.counts == nil {
			s.counts = make(map[suppressKey]uint64, len(taken))
		}
		for k, n := range taken {
			s.counts[k] += n
		}
		s.mu.Unlock()
		return err
	}
	return nil
}
