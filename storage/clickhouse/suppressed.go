package clickhouse

import (
	"context"
	"fmt"

	"github.com/mote-analytics/mote/storage"
)

// InsertSuppressed adds suppression counters to the suppressed table (a
// SummingMergeTree: readers sum(count)).
func (e *Engine) InsertSuppressed(ctx context.Context, rows []storage.SuppressedCount) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := e.conn.PrepareBatch(ctx, "INSERT INTO suppressed (site_id, day, reason, count)")
	if err != nil {
		return fmt.Errorf("insert suppressed: %w", err)
	}
	for _, r := range rows {
		if err := batch.Append(r.SiteID, r.Day, r.Reason.String(), r.Count); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("insert suppressed: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert suppressed: %w", err)
	}
	return nil
}
