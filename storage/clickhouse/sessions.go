package clickhouse

import (
	"context"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

var _ storage.SessionInserter = (*Engine)(nil)

// InsertSessions writes sessions rows as one columnar block
// (storage.SessionInserter): row-wise appends through reflection cost the
// collector a large share of its throughput at two rows per hit.
func (e *Engine) InsertSessions(ctx context.Context, rows []mote.SessionRow) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	strs := func(f func(*mote.SessionRow) string) []string {
		out := make([]string, n)
		for i := range rows {
			out[i] = f(&rows[i])
		}
		return out
	}
	u64 := func(f func(*mote.SessionRow) uint64) []uint64 {
		out := make([]uint64, n)
		for i := range rows {
			out[i] = f(&rows[i])
		}
		return out
	}
	u32 := func(f func(*mote.SessionRow) uint32) []uint32 {
		out := make([]uint32, n)
		for i := range rows {
			out[i] = f(&rows[i])
		}
		return out
	}
	times := func(f func(*mote.SessionRow) time.Time) []time.Time {
		out := make([]time.Time, n)
		for i := range rows {
			out[i] = f(&rows[i])
		}
		return out
	}
	bounce, sign := make([]uint8, n), make([]int8, n)
	for i := range rows {
		bounce[i], sign[i] = rows[i].Bounce, rows[i].Sign
	}
	// In the order of storage.SessionColumns.
	cols := []any{
		strs(func(r *mote.SessionRow) string { return r.SiteID }),
		u64(func(r *mote.SessionRow) uint64 { return r.SessionID }),
		u64(func(r *mote.SessionRow) uint64 { return r.VisitorID }),
		times(func(r *mote.SessionRow) time.Time { return r.StartTS }),
		times(func(r *mote.SessionRow) time.Time { return r.EndTS }),
		strs(func(r *mote.SessionRow) string { return r.Hostname }),
		strs(func(r *mote.SessionRow) string { return r.EntryPage }),
		strs(func(r *mote.SessionRow) string { return r.ExitPage }),
		u32(func(r *mote.SessionRow) uint32 { return r.Pageviews }),
		u32(func(r *mote.SessionRow) uint32 { return r.Events }),
		u32(func(r *mote.SessionRow) uint32 { return r.DurationS }),
		bounce,
		strs(func(r *mote.SessionRow) string { return r.ReferrerHost }),
		strs(func(r *mote.SessionRow) string { return r.ReferrerSource }),
		strs(func(r *mote.SessionRow) string { return r.Channel }),
		strs(func(r *mote.SessionRow) string { return r.UTMSource }),
		strs(func(r *mote.SessionRow) string { return r.UTMMedium }),
		strs(func(r *mote.SessionRow) string { return r.UTMCampaign }),
		strs(func(r *mote.SessionRow) string { return r.UTMTerm }),
		strs(func(r *mote.SessionRow) string { return r.UTMContent }),
		strs(func(r *mote.SessionRow) string { return r.Country }),
		strs(func(r *mote.SessionRow) string { return r.Region }),
		strs(func(r *mote.SessionRow) string { return r.City }),
		strs(func(r *mote.SessionRow) string { return r.Browser }),
		strs(func(r *mote.SessionRow) string { return r.OS }),
		strs(func(r *mote.SessionRow) string { return r.Device }),
		strs(func(r *mote.SessionRow) string { return r.Screen }),
		sign,
		u32(func(r *mote.SessionRow) uint32 { return r.Version }),
		u64(func(r *mote.SessionRow) uint64 { return r.BatchID }),
		u64(func(r *mote.SessionRow) uint64 { return r.SpoolID }),
	}
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
