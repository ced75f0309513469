package clickhouse

import (
	"context"

	"github.com/mote-analytics/mote/storage"
)

// InsertSuppressed adds suppression counters (storage.SuppressedWriter).
func (e *Engine) InsertSuppressed(ctx context.Context, rows []storage.SuppressedCount) error {
	return storage.InsertSuppressed(ctx, e, rows)
}
