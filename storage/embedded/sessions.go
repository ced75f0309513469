package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// InsertSessions writes sessions rows in RowBinary through chDB's
// streaming insert, like InsertEvents (storage.SessionInserter): rendering
// and parsing VALUES text cost the collector half its throughput.
//
// optimize_on_insert is off: collapsing a state and its cancel within
// the block would change how many rows a batch leaves under its batch_id,
// which the Batcher's replay check counts (the table still folds them on
// merge, and every query sums signs).
func (e *Engine) InsertSessions(ctx context.Context, rows []mote.SessionRow) error {
	if len(rows) == 0 {
		return nil
	}
	var buf []byte
	for i := range rows {
		buf = appendSession(buf, &rows[i])
	}
	err := e.run(ctx, true, func(c *conn) error {
		_, err := c.insert("INSERT INTO sessions ("+storage.SessionColumns+") SETTINGS optimize_on_insert = 0", "RowBinary", buf)
		return err
	})
	if err != nil {
		return fmt.Errorf("insert %d sessions rows: %w", len(rows), err)
	}
	return nil
}

// appendSession encodes r in RowBinary in the order of
// storage.SessionColumns.
func appendSession(b []byte, r *mote.SessionRow) []byte {
	le := binary.LittleEndian
	b = appendString(b, r.SiteID)
	b = le.AppendUint64(b, r.SessionID)
	b = le.AppendUint64(b, r.VisitorID)
	b = le.AppendUint32(b, uint32(r.StartTS.Unix()))
	b = le.AppendUint32(b, uint32(r.EndTS.Unix()))
	b = appendString(b, r.Hostname)
	b = appendString(b, r.EntryPage)
	b = appendString(b, r.ExitPage)
	b = le.AppendUint32(b, r.Pageviews)
	b = le.AppendUint32(b, r.Events)
	b = le.AppendUint32(b, r.DurationS)
	b = append(b, r.Bounce)
	for _, s := range [...]string{r.ReferrerHost, r.ReferrerSource, r.Channel, r.UTMSource, r.UTMMedium,
		r.UTMCampaign, r.UTMTerm, r.UTMContent, r.Country, r.Region, r.City, r.Browser, r.OS, r.Device, r.Screen} {
		b = appendString(b, s)
	}
	b = append(b, byte(r.Sign))
	b = le.AppendUint32(b, r.Version)
	b = le.AppendUint64(b, r.BatchID)
	return le.AppendUint64(b, r.SpoolID)
}

// ScanSessions runs query, a SELECT of the rebuild's columns (site_id,
// session_id, visitor_id, start_ts ... screen, version: the order of
// storage.SessionColumns without sign and the ids), in RowBinary and calls
// fn with each row (storage.SessionScanner): the JSON rows of QuerySQL
// cost microseconds a value, and the rebuild reads a million visits.
func (e *Engine) ScanSessions(ctx context.Context, query string, fn func(*mote.SessionRow)) error {
	out, err := e.Query(ctx, query, "RowBinary")
	if err != nil {
		return err
	}
	r := rowReader{b: out}
	var row mote.SessionRow
	for len(r.b) > 0 && r.err == nil {
		row.SiteID = r.str()
		row.SessionID, row.VisitorID = r.u64(), r.u64()
		row.StartTS = time.Unix(int64(r.u32()), 0).UTC()
		row.EndTS = time.Unix(int64(r.u32()), 0).UTC()
		row.Hostname, row.EntryPage, row.ExitPage = r.str(), r.str(), r.str()
		row.Pageviews, row.Events, row.DurationS = r.u32(), r.u32(), r.u32()
		row.Bounce = r.u8()
		for _, p := range [...]*string{&row.ReferrerHost, &row.ReferrerSource, &row.Channel, &row.UTMSource, &row.UTMMedium,
			&row.UTMCampaign, &row.UTMTerm, &row.UTMContent, &row.Country, &row.Region, &row.City, &row.Browser, &row.OS,
			&row.Device, &row.Screen} {
			*p = r.str()
		}
		row.Version = r.u32()
		row.Sign = 1
		if r.err == nil {
			fn(&row)
		}
	}
	if r.err != nil {
		return fmt.Errorf("scan sessions: %w", r.err)
	}
	return nil
}
