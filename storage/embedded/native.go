package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// Events are inserted in ClickHouse's Native format: one block holding
// each column of storage.EventColumns in turn, each headed by its name and
// type. It is columnar, so chDB copies whole columns instead of parsing row
// by row, and the header lets a LowCardinality column travel as a plain
// String that ClickHouse converts a column at a time. RowBinary had to be
// converted row by row into the 13 LowCardinality columns, which made it
// parse-bound: 100k events took 400 ms into a Null table, and inserts ran
// at 130–200k rows/s; Native reaches 490–715k (bench/BENCHMARKS.md).
//
// A Native block (as a format, outside the TCP protocol) is: the column
// count and row count as LEB128, then per column its name and type as
// strings and the values: numbers little-endian and fixed width, strings as
// a LEB128 length and the bytes, DateTime as UInt32 seconds, Enum8 as its
// Int8 value, Array(T) as the cumulative end offsets (UInt64 per row)
// followed by every element.

// nativeTypes returns the type of each events column (in EventColumns
// order) as the block header names it: the table's own type with
// LowCardinality unwrapped, read once from system.columns so that the
// header cannot drift from the migrations.
func (e *Engine) nativeTypes(ctx context.Context) ([]string, error) {
	if e.eventTypes != nil {
		return e.eventTypes, nil
	}
	rows, err := e.QuerySQL(ctx, "SELECT name, type FROM system.columns WHERE database = "+storage.Quote(e.db)+" AND table = 'events'")
	if err != nil {
		return nil, fmt.Errorf("read the events columns: %w", err)
	}
	byName := make(map[string]string, len(rows.Values))
	for i := range rows.Values {
		var name, typ string
		if err := rows.Scan(i, &name, &typ); err != nil {
			return nil, err
		}
		if inner, ok := strings.CutPrefix(typ, "LowCardinality("); ok {
			typ = strings.TrimSuffix(inner, ")")
		}
		byName[name] = typ
	}
	types := make([]string, len(storage.EventColumns))
	for i, c := range storage.EventColumns {
		if types[i] = byName[c]; types[i] == "" {
			return nil, fmt.Errorf("the events table has no column %s: run the migrations", c)
		}
	}
	e.eventTypes = types
	return types, nil
}

// checkEvent refuses, as the server engine does, an undeclared kind, props
// keys and values of different lengths and a time outside DateTime's
// range: those are bugs upstream and storing a guess would be worse.
func checkEvent(ev *mote.Event) error {
	if !ev.Kind.Valid() {
		return fmt.Errorf("invalid kind %d", ev.Kind)
	}
	if len(ev.PropKeys) != len(ev.PropValues) {
		return fmt.Errorf("%d prop keys but %d values", len(ev.PropKeys), len(ev.PropValues))
	}
	if ev.TS.Before(minDateTime) || ev.TS.After(maxDateTime) {
		return fmt.Errorf("time %s outside DateTime range", ev.TS.UTC().Format(time.RFC3339))
	}
	return nil
}

// nativeBlock builds a Native block row by row: each event is read once
// and its fields appended to one buffer per column, which are then
// concatenated behind their headers. Encoding column by column read every
// event once per column, from an array larger than the caches. The
// buffers are reused from one block to the next.
type nativeBlock struct {
	vals  [nativeColumns][]byte // values; for props.key and props.value, the end offsets
	elems [2][]byte             // the elements of props.key and props.value
	ends  [2]uint64             // elements so far in each
}

// nativeColumns is len(storage.EventColumns); add writes the columns in
// that order (a test holds the two together, and the engines' conformance
// suite reads every field back).
const nativeColumns = 35

// appendEvents appends events (each with batch_id = batchID) to dst as one
// Native block whose header names types[i] for EventColumns[i]. The events
// must have passed checkEvent.
//
// The rows go in the batch's order. Sorting them by the table's key first
// (so that ClickHouse need not sort and permute the block) was measured
// slower.
func (b *nativeBlock) appendEvents(dst []byte, types []string, events []mote.Event, batchID uint64) []byte {
	for c := range b.vals {
		b.vals[c] = b.vals[c][:0]
	}
	b.elems[0], b.elems[1] = b.elems[0][:0], b.elems[1][:0]
	b.ends = [2]uint64{}
	for i := range events {
		b.add(&events[i], batchID)
	}
	dst = binary.AppendUvarint(dst, uint64(len(storage.EventColumns)))
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	for c, col := range storage.EventColumns {
		dst = appendString(dst, col)
		dst = appendString(dst, types[c])
		dst = append(dst, b.vals[c]...)
		switch col {
		case "props.key":
			dst = append(dst, b.elems[0]...)
		case "props.value":
			dst = append(dst, b.elems[1]...)
		}
	}
	return dst
}

// add appends ev's fields, in storage.EventColumns order.
func (b *nativeBlock) add(ev *mote.Event, batchID uint64) {
	le := binary.LittleEndian
	v := &b.vals
	v[0] = appendString(v[0], ev.SiteID)
	v[1] = le.AppendUint32(v[1], uint32(ev.TS.Unix()))
	v[2] = append(v[2], byte(ev.Kind))
	for i, s := range stringColumns(ev) {
		v[3+i] = appendString(v[3+i], *s)
	}
	v[23] = le.AppendUint64(v[23], ev.VisitorID)
	v[24] = le.AppendUint64(v[24], ev.SessionID)
	v[25] = le.AppendUint32(v[25], ev.EngagementMS)
	v[26] = append(v[26], ev.ScrollDepth)
	for i, list := range [2][]string{ev.PropKeys, ev.PropValues} {
		b.ends[i] += uint64(len(list))
		v[27+i] = le.AppendUint64(v[27+i], b.ends[i])
		for _, s := range list {
			b.elems[i] = appendString(b.elems[i], s)
		}
	}
	v[29] = appendString(v[29], ev.CampaignID)
	v[30] = le.AppendUint64(v[30], ev.RecipientID)
	v[31] = append(v[31], ev.MachineOpen)
	v[32] = appendString(v[32], ev.MachineReason)
	v[33] = appendString(v[33], ev.LinkURL)
	v[34] = le.AppendUint64(v[34], batchID)
}
