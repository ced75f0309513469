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

// appendNativeEvents appends events (each with batch_id = batchID) to b as
// one Native block whose header names types[i] for EventColumns[i]. The
// events must have passed checkEvent.
//
// The rows go in the batch's order. Sorting them by the table's key first
// (so that ClickHouse need not sort and permute the block) was measured
// slower: encoding in key order reads the events out of order once per
// column.
func appendNativeEvents(b []byte, types []string, events []mote.Event, batchID uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(storage.EventColumns)))
	b = binary.AppendUvarint(b, uint64(len(events)))
	for i, col := range storage.EventColumns {
		b = appendString(b, col)
		b = appendString(b, types[i])
		b = appendNativeColumn(b, col, events, batchID)
	}
	return b
}

// eventStrings reads each String (or LowCardinality(String)) column of an
// event.
var eventStrings = map[string]func(*mote.Event) string{
	"site_id": func(e *mote.Event) string { return e.SiteID },
	"name":    func(e *mote.Event) string { return e.Name },

	"hostname": func(e *mote.Event) string { return e.Hostname },
	"pathname": func(e *mote.Event) string { return e.Pathname },

	"referrer_host":   func(e *mote.Event) string { return e.ReferrerHost },
	"referrer_source": func(e *mote.Event) string { return e.ReferrerSource },
	"channel":         func(e *mote.Event) string { return e.Channel },

	"utm_source":   func(e *mote.Event) string { return e.UTMSource },
	"utm_medium":   func(e *mote.Event) string { return e.UTMMedium },
	"utm_campaign": func(e *mote.Event) string { return e.UTMCampaign },
	"utm_term":     func(e *mote.Event) string { return e.UTMTerm },
	"utm_content":  func(e *mote.Event) string { return e.UTMContent },

	"country": func(e *mote.Event) string { return e.Country },
	"region":  func(e *mote.Event) string { return e.Region },
	"city":    func(e *mote.Event) string { return e.City },

	"browser":         func(e *mote.Event) string { return e.Browser },
	"browser_version": func(e *mote.Event) string { return e.BrowserVersion },
	"os":              func(e *mote.Event) string { return e.OS },
	"os_version":      func(e *mote.Event) string { return e.OSVersion },
	"device":          func(e *mote.Event) string { return e.Device },
	"screen":          func(e *mote.Event) string { return e.Screen },

	"campaign_id":    func(e *mote.Event) string { return e.CampaignID },
	"machine_reason": func(e *mote.Event) string { return e.MachineReason },
	"link_url":       func(e *mote.Event) string { return e.LinkURL },
}

// appendNativeColumn appends the values of one column for all events.
func appendNativeColumn(b []byte, col string, events []mote.Event, batchID uint64) []byte {
	if get, ok := eventStrings[col]; ok {
		for i := range events {
			b = appendString(b, get(&events[i]))
		}
		return b
	}
	le := binary.LittleEndian
	for i := range events {
		ev := &events[i]
		switch col {
		case "ts":
			b = le.AppendUint32(b, uint32(ev.TS.Unix()))
		case "kind":
			b = append(b, byte(ev.Kind))
		case "visitor_id":
			b = le.AppendUint64(b, ev.VisitorID)
		case "session_id":
			b = le.AppendUint64(b, ev.SessionID)
		case "engagement_ms":
			b = le.AppendUint32(b, ev.EngagementMS)
		case "scroll_depth":
			b = append(b, ev.ScrollDepth)
		case "recipient_id":
			b = le.AppendUint64(b, ev.RecipientID)
		case "machine_open":
			b = append(b, ev.MachineOpen)
		case "batch_id":
			b = le.AppendUint64(b, batchID)
		case "props.key", "props.value":
			return appendNativeProps(b, col == "props.key", events)
		default:
			panic("embedded: no Native encoding for events column " + col)
		}
	}
	return b
}

// appendNativeProps appends the Array(String) column of props keys (or
// values): the offsets, then the elements.
func appendNativeProps(b []byte, keys bool, events []mote.Event) []byte {
	props := func(ev *mote.Event) []string {
		if keys {
			return ev.PropKeys
		}
		return ev.PropValues
	}
	end := uint64(0)
	for i := range events {
		end += uint64(len(props(&events[i])))
		b = binary.LittleEndian.AppendUint64(b, end)
	}
	for i := range events {
		for _, s := range props(&events[i]) {
			b = appendString(b, s)
		}
	}
	return b
}
