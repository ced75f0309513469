package embedded

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/enginetest"
)

func encode(t testing.TB, batchID uint64, events ...mote.Event) []byte {
	t.Helper()
	var b []byte
	for i := range events {
		var err error
		if b, err = appendEvent(b, &events[i], batchID); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestRowBinaryRoundTrip(t *testing.T) {
	var in []mote.Event
	for i := range 9 {
		ev := enginetest.Event(i)
		ev.BatchID = 77
		in = append(in, ev)
	}
	got, err := decodeEvents(encode(t, 77, in...))
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if len(in[i].PropKeys) == 0 {
			in[i].PropKeys, in[i].PropValues = nil, nil
		}
		if !reflect.DeepEqual(got[i], in[i]) {
			t.Errorf("row %d\n got %#v\nwant %#v", i, got[i], in[i])
		}
	}
}

func TestCheckEventRejects(t *testing.T) {
	f := func(ev mote.Event, want string) {
		t.Helper()
		if err := checkEvent(&ev); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	ev := enginetest.Event(1)
	ev.Kind = 9
	f(ev, "invalid kind")
	ev = enginetest.Event(1)
	ev.PropValues = nil
	f(ev, "prop keys")
	ev = enginetest.Event(1)
	ev.TS = ev.TS.AddDate(-100, 0, 0)
	f(ev, "DateTime range")

	good := encode(t, 1, enginetest.Event(3))
	for _, bad := range [][]byte{good[:len(good)-1], good[:10], {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, err := decodeEvents(bad); err == nil {
			t.Errorf("decoded %d bad bytes without error", len(bad))
		}
	}
}

// FuzzDecodeEvents: any bytes decode to events or an error, never a panic
// or an allocation beyond the input's size, and what decodes encodes back
// to the same events.
func FuzzDecodeEvents(f *testing.F) {
	f.Add(encode(f, 1, enginetest.Event(0), enginetest.Event(3)))
	f.Add(encode(f, 1<<63, mote.Event{Kind: mote.KindEvent, TS: minDateTime}))
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		events, err := decodeEvents(data)
		if err != nil {
			return
		}
		var b []byte
		for i := range events {
			var err error
			if b, err = appendEvent(b, &events[i], events[i].BatchID); err != nil {
				if strings.Contains(err.Error(), "DateTime range") {
					return // UInt32 seconds reach past what DateTime accepts on input
				}
				t.Fatalf("re-encode decoded event: %v", err)
			}
		}
		again, err := decodeEvents(b)
		if err != nil || !reflect.DeepEqual(again, events) {
			t.Fatalf("round trip: %v\n%#v\n%#v", err, again, events)
		}
	})
}

// appendEvent appends ev's RowBinary row (with batch_id = batchID) to b:
// the rows chDB answers to ReadEvents, written here to test the decoder.
func appendEvent(b []byte, ev *mote.Event, batchID uint64) ([]byte, error) {
	if err := checkEvent(ev); err != nil {
		return b, err
	}
	b = appendString(b, ev.SiteID)
	b = binary.LittleEndian.AppendUint32(b, uint32(ev.TS.Unix()))
	b = append(b, byte(ev.Kind))
	for _, s := range stringColumns(ev) {
		b = appendString(b, *s)
	}
	b = binary.LittleEndian.AppendUint64(b, ev.VisitorID)
	b = binary.LittleEndian.AppendUint64(b, ev.SessionID)
	b = binary.LittleEndian.AppendUint32(b, ev.EngagementMS)
	b = append(b, ev.ScrollDepth)
	b = appendStrings(b, ev.PropKeys)
	b = appendStrings(b, ev.PropValues)
	b = appendString(b, ev.CampaignID)
	b = binary.LittleEndian.AppendUint64(b, ev.RecipientID)
	b = append(b, ev.MachineOpen)
	b = appendString(b, ev.MachineReason)
	b = appendString(b, ev.LinkURL)
	b = binary.LittleEndian.AppendUint64(b, batchID)
	return b, nil
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}
