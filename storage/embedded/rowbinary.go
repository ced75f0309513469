package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/mote-analytics/mote"
)

// The engine reads events back (ReadEvents) in ClickHouse's RowBinary
// format; it writes them in Native (native.go). RowBinary is per row, each
// column of storage.EventColumns in order, little-endian numbers, strings
// as a LEB128 length and the bytes, arrays as a LEB128 count and the
// elements; LowCardinality(String) arrives as a plain String, Enum8 as its
// Int8 value and DateTime as UInt32 seconds since the epoch. It needs no
// escaping, so any byte in a string arrives as it was.

// DateTime's range. Mirrors clickhouse-go, which refuses to send a time
// outside it rather than let the server wrap it around.
var (
	minDateTime = time.Unix(0, 0)
	maxDateTime = time.Date(2105, 12, 31, 23, 59, 59, 0, time.UTC)
)

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errShort is returned for a row cut short or a length that runs past the
// data.
var errShort = errors.New("rowbinary: truncated row")

// rowReader decodes RowBinary rows of events. It never reads past its
// data, never trusts a length before checking it against what is left,
// and never panics, whatever the bytes: they come from chDB, but a bug
// there or a schema change must end in an error, not a crash.
type rowReader struct {
	b   []byte
	err error
}

// stringColumns points at ev's String columns from name to screen: those
// between kind and visitor_id in storage.EventColumns, in that order. The
// Native writer and the RowBinary reader both go through it.
func stringColumns(ev *mote.Event) [20]*string {
	return [...]*string{
		&ev.Name, &ev.Hostname, &ev.Pathname,
		&ev.ReferrerHost, &ev.ReferrerSource, &ev.Channel,
		&ev.UTMSource, &ev.UTMMedium, &ev.UTMCampaign, &ev.UTMTerm, &ev.UTMContent,
		&ev.Country, &ev.Region, &ev.City,
		&ev.Browser, &ev.BrowserVersion, &ev.OS, &ev.OSVersion, &ev.Device, &ev.Screen,
	}
}

// readEvent decodes one row (in storage.EventColumns order) into ev,
// overwriting every field. ev.TS is in UTC.
func (r *rowReader) readEvent(ev *mote.Event) error {
	ev.SiteID = r.str()
	ev.TS = time.Unix(int64(r.u32()), 0).UTC()
	ev.Kind = mote.Kind(r.u8())
	for _, p := range stringColumns(ev) {
		*p = r.str()
	}
	ev.VisitorID = r.u64()
	ev.SessionID = r.u64()
	ev.EngagementMS = r.u32()
	ev.ScrollDepth = r.u8()
	ev.PropKeys = r.strs()
	ev.PropValues = r.strs()
	ev.CampaignID = r.str()
	ev.RecipientID = r.u64()
	ev.MachineOpen = r.u8()
	ev.MachineReason = r.str()
	ev.LinkURL = r.str()
	ev.BatchID = r.u64()
	if r.err == nil && !ev.Kind.Valid() {
		r.err = fmt.Errorf("rowbinary: invalid kind %d", ev.Kind)
	}
	if r.err == nil && len(ev.PropKeys) != len(ev.PropValues) {
		// props is Nested: ClickHouse keeps its arrays the same length.
		r.err = fmt.Errorf("rowbinary: %d prop keys but %d values", len(ev.PropKeys), len(ev.PropValues))
	}
	return r.err
}

func (r *rowReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errShort
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *rowReader) u8() uint8 {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *rowReader) u32() uint32 {
	if p := r.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *rowReader) u64() uint64 {
	if p := r.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// length reads a LEB128 length and checks that at least unit bytes per
// unit are left for it, so that a forged huge count cannot make the
// decoder allocate more than the input justifies.
func (r *rowReader) length(unit int) int {
	if r.err != nil {
		return 0
	}
	n, size := binary.Uvarint(r.b)
	if size <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[size:]
	if n > uint64(len(r.b)/unit) {
		r.err = errShort
		return 0
	}
	return int(n)
}

func (r *rowReader) str() string {
	n := r.length(1)
	if n == 0 {
		return ""
	}
	return string(r.take(n))
}

// strs reads an Array(String); an empty array is nil.
func (r *rowReader) strs() []string {
	n := r.length(1) // every element takes at least its length byte
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

// decodeEvents decodes rows until data is used up.
func decodeEvents(data []byte) ([]mote.Event, error) {
	r := rowReader{b: data}
	var out []mote.Event
	for len(r.b) > 0 {
		var ev mote.Event
		if err := r.readEvent(&ev); err != nil {
			return out, fmt.Errorf("decode event %d: %w", len(out), err)
		}
		out = append(out, ev)
	}
	return out, nil
}
