package embedded

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mote-analytics/mote/storage"
)

// InsertSuppressed adds suppression counters to the suppressed table. The
// rows are few (one per site, day and reason since the last flush), so
// they travel as quoted VALUES literals rather than RowBinary.
func (e *Engine) InsertSuppressed(ctx context.Context, rows []storage.SuppressedCount) error {
	if len(rows) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO suppressed (site_id, day, reason, count) VALUES ")
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%s, toDate('%s'), %s, %s)", storage.Quote(r.SiteID), r.Day.UTC().Format("2006-01-02"),
			storage.Quote(r.Reason.String()), strconv.FormatUint(r.Count, 10))
	}
	if err := e.Exec(ctx, b.String()); err != nil {
		return fmt.Errorf("insert suppressed: %w", err)
	}
	return nil
}
