//go:build !race

package storage

import (
	"testing"
	"time"

	"github.com/mote-analytics/mote"
)

// Append is on the hit path: once its buffer has grown it allocates
// nothing, and what it encodes decodes to the same row.
func TestSessionWriterAppendAllocs(t *testing.T) {
	w := NewSessionWriter(nil, SessionWriterConfig{})
	r := &mote.SessionRow{SiteID: "demo", SessionID: 1 << 63, VisitorID: 9, StartTS: time.Unix(1772000000, 0),
		EndTS: time.Unix(1772000060, 0), EntryPage: "/a", ExitPage: "/b", Pageviews: 2, Bounce: 1, Country: "DE", Sign: -1, Version: 7}
	for range 100 {
		w.Append(r, r)
	}
	rows, err := decodeSessionRows(nil, w.pending, w.rows)
	if err != nil || len(rows) != 200 {
		t.Fatalf("decoded %d rows, %v", len(rows), err)
	}
	want := *r
	want.StartTS, want.EndTS = r.StartTS.UTC(), r.EndTS.UTC()
	if rows[0] != want || rows[199] != want {
		t.Fatalf("row decoded as %+v\nwant %+v", rows[0], want)
	}
	// Decoding costs one copy of the buffer, not a string per field.
	if allocs := testing.AllocsPerRun(20, func() { rows, _ = decodeSessionRows(rows, w.pending, w.rows) }); allocs != 1 {
		t.Errorf("decoding 200 rows allocates %v times, want 1", allocs)
	}
	w.pending, w.rows = w.pending[:0], 0
	if allocs := testing.AllocsPerRun(100, func() { w.Append(r, r) }); allocs != 0 {
		t.Errorf("Append allocates %v times", allocs)
	}
}
