package clickhouse

import (
	"context"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// InsertSessions writes sessions rows as one columnar block
// (storage.SessionInserter): row-wise appends through reflection cost the
// collector a large share of its throughput at two rows per hit.
func (e *Engine) InsertSessions(ctx context.Context, rows []mote.SessionRow) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	cols := sessionColumns(rows)
	if e.version.AtLeast(20, 12) {
		// No collapsing of a state and its cancel within the block: the
		// Batcher's replay check counts the rows under batch_id.
		ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{"optimize_on_insert": 0}))
	}
	batch, err := e.conn.PrepareBatch(ctx, "INSERT INTO sessions ("+storage.SessionColumns+")")
	if err != nil {
		return fmt.Errorf("insert %d sessions rows: %w", n, err)
	}
	for i, col := range cols {
		if err := batch.Column(i).Append(col); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("insert %d sessions rows: column %d: %w", n, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d sessions rows: %w", n, err)
	}
	return nil
}

// column is one column of rows, as clickhouse-go appends it.
func column[T any](rows []mote.SessionRow, f func(*mote.SessionRow) T) []T {
	out := make([]T, len(rows))
	for i := range rows {
		out[i] = f(&rows[i])
	}
	return out
}

// sessionColumns is rows as columns, in the order of
// storage.SessionColumns.
func sessionColumns(rows []mote.SessionRow) []any {
	return []any{
		column(rows, func(r *mote.SessionRow) string { return r.SiteID }),
		column(rows, func(r *mote.SessionRow) uint64 { return r.SessionID }),
		column(rows, func(r *mote.SessionRow) uint64 { return r.VisitorID }),
		column(rows, func(r *mote.SessionRow) time.Time { return r.StartTS }),
		column(rows, func(r *mote.SessionRow) time.Time { return r.EndTS }),
		column(rows, func(r *mote.SessionRow) string { return r.Hostname }),
		column(rows, func(r *mote.SessionRow) string { return r.EntryPage }),
		column(rows, func(r *mote.SessionRow) string { return r.ExitPage }),
		column(rows, func(r *mote.SessionRow) uint32 { return r.Pageviews }),
		column(rows, func(r *mote.SessionRow) uint32 { return r.Events }),
		column(rows, func(r *mote.SessionRow) uint32 { return r.DurationS }),
		column(rows, func(r *mote.SessionRow) uint8 { return r.Bounce }),
		column(rows, func(r *mote.SessionRow) string { return r.ReferrerHost }),
		column(rows, func(r *mote.SessionRow) string { return r.ReferrerSource }),
		column(rows, func(r *mote.SessionRow) string { return r.Channel }),
		column(rows, func(r *mote.SessionRow) string { return r.UTMSource }),
		column(rows, func(r *mote.SessionRow) string { return r.UTMMedium }),
		column(rows, func(r *mote.SessionRow) string { return r.UTMCampaign }),
		column(rows, func(r *mote.SessionRow) string { return r.UTMTerm }),
		column(rows, func(r *mote.SessionRow) string { return r.UTMContent }),
		column(rows, func(r *mote.SessionRow) string { return r.Country }),
		column(rows, func(r *mote.SessionRow) string { return r.Region }),
		column(rows, func(r *mote.SessionRow) string { return r.City }),
		column(rows, func(r *mote.SessionRow) string { return r.Browser }),
		column(rows, func(r *mote.SessionRow) string { return r.OS }),
		column(rows, func(r *mote.SessionRow) string { return r.Device }),
		column(rows, func(r *mote.SessionRow) string { return r.Screen }),
		column(rows, func(r *mote.SessionRow) int8 { return r.Sign }),
		column(rows, func(r *mote.SessionRow) uint32 { return r.Version }),
		column(rows, func(r *mote.SessionRow) uint64 { return r.BatchID }),
		column(rows, func(r *mote.SessionRow) uint64 { return r.SpoolID }),
	}
}
