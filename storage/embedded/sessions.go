package embedded

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

var _ storage.SessionInserter = (*Engine)(nil)

// InsertSessions writes sessions rows in RowBinary through chDB's
// streaming insert, like InsertEvents (storage.SessionInserter): rendering
// and parsing VALUES text cost the collector half its throughput.
func (e *Engine) InsertSessions(ctx context.Context, rows []mote.SessionRow) error {
	if len(rows) == 0 {
		return nil
	}
	var buf []byte
	for i := range rows {
		buf = appendSession(buf, &rows[i])
	}
	err := e.run(ctx, true, func(c *conn) error {
		_, err := c.insert("INSERT INTO sessions ("+storage.SessionColumns+")", "RowBinary", buf)
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
	return le.AppendUint32(b, r.Version)
}
