package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
)

// fullEvent sets every encoded field to a distinct value, so a field the
// codec forgets or swaps shows up in the round trip.
func fullEvent() mote.Event {
	return mote.Event{
		SiteID: "site", TS: time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC),
		Kind: mote.KindEvent, Name: "signup",
		Hostname: "example.com", Pathname: "/pricing",
		ReferrerHost: "news.ycombinator.com", ReferrerSource: "Hacker News", Channel: "social",
		UTMSource: "us", UTMMedium: "um", UTMCampaign: "uc", UTMTerm: "ut", UTMContent: "uco",
		Country: "FR", Region: "FR-IDF", City: "Paris",
		Browser: "Firefox", BrowserVersion: "140", OS: "Linux", OSVersion: "6", Device: "desktop", Screen: "laptop",
		VisitorID: math.MaxUint64, SessionID: 0x0102030405060708,
		EngagementMS: math.MaxUint32, ScrollDepth: 100,
		PropKeys: []string{"plan", "", "ü"}, PropValues: []string{"pro", "empty key", strings.Repeat("v", 300)},
		CampaignID: "spring", RecipientID: 42, MachineOpen: 1, MachineReason: "apple_mpp",
		LinkURL: "https://example.com/a?b=c",
	}
}

func TestRecordRoundTrip(t *testing.T) {
	f := func(name string, in mote.Event) {
		t.Helper()
		enc := AppendEvent(nil, &in)
		var out mote.Event
		out.BatchID = 99
		if err := DecodeEvent(enc, &out); err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if !out.TS.Equal(in.TS) {
			t.Fatalf("%s: ts %v, want %v", name, out.TS, in.TS)
		}
		in.TS, out.TS = time.Time{}, time.Time{}
		in.BatchID = 0
		if len(in.PropKeys) == 0 {
			in.PropKeys, in.PropValues = out.PropKeys, out.PropValues // nil vs empty
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("%s: round trip\n got %+v\nwant %+v", name, out, in)
		}
	}
	f("full", fullEvent())
	f("minimal", mote.Event{Kind: mote.KindPageview, TS: time.Unix(0, 0)})
	f("negative time", mote.Event{Kind: mote.KindEmailClick, TS: time.Unix(-5, 3)})
	e := fullEvent()
	e.BatchID = 7 // not encoded
	f("batch id ignored", e)
}

func TestDecodeReusesPropSlices(t *testing.T) {
	in := fullEvent()
	enc := AppendEvent(nil, &in)
	out := mote.Event{PropKeys: make([]string, 0, 8), PropValues: make([]string, 0, 8)}
	k, v := &out.PropKeys[:1][0], &out.PropValues[:1][0]
	if err := DecodeEvent(enc, &out); err != nil {
		t.Fatal(err)
	}
	if &out.PropKeys[0] != k || &out.PropValues[0] != v {
		t.Fatal("decode did not reuse the prop slices")
	}
}

func TestDecodeCopiesSource(t *testing.T) {
	in := fullEvent()
	enc := AppendEvent(nil, &in)
	var out mote.Event
	if err := DecodeEvent(enc, &out); err != nil {
		t.Fatal(err)
	}
	for i := range enc {
		enc[i] = 'x'
	}
	if out.Pathname != "/pricing" || out.PropValues[0] != "pro" {
		t.Fatalf("decoded strings alias the source buffer: %q %q", out.Pathname, out.PropValues[0])
	}
}

func TestDecodeRejects(t *testing.T) {
	in := fullEvent()
	good := AppendEvent(nil, &in)
	f := func(name string, b []byte) {
		t.Helper()
		var out mote.Event
		if err := DecodeEvent(b, &out); !errors.Is(err, ErrBadRecord) {
			t.Errorf("%s: err = %v, want ErrBadRecord", name, err)
		}
	}
	f("empty", nil)
	f("trailing byte", append(bytes.Clone(good), 0))
	for n := range len(good) {
		f("truncated", good[:n])
	}
	bad := bytes.Clone(good)
	bad[0] = 2
	f("unknown version", bad)

	// At the epoch the record starts: version, seconds 0x00, nanoseconds
	// 0x00, kind, length of site_id.
	e := mote.Event{Kind: mote.KindPageview, TS: time.Unix(0, 0)}
	min := AppendEvent(nil, &e)
	if !bytes.HasPrefix(min, []byte{recordVersion, 0, 0, byte(mote.KindPageview), 0}) {
		t.Fatalf("unexpected layout %x", min)
	}
	bad = bytes.Clone(min)
	bad[3] = 0
	f("kind 0", bad)
	bad[3] = 6
	f("kind 6", bad)
	// Non-minimal varint: seconds 0 encoded as 0x80 0x00 instead of 0x00.
	f("non-minimal varint", append([]byte{min[0], 0x80, 0x00}, min[2:]...))
	// Nanoseconds ≥ 1e9.
	f("nanoseconds", append([]byte{min[0], 0, 0x80, 0x94, 0xeb, 0xdc, 0x03}, min[3:]...))
	// A string length larger than the record.
	e.SiteID = "abc"
	min = AppendEvent(nil, &e)
	bad = bytes.Clone(min)
	bad[4] = 0x7f
	f("long string", bad)
	f("oversized record", make([]byte, MaxRecordBytes+1))
}

func TestValidateEvent(t *testing.T) {
	ok := fullEvent()
	if err := ValidateEvent(&ok); err != nil {
		t.Fatalf("valid event refused: %v", err)
	}
	f := func(name string, mut func(e *mote.Event)) {
		t.Helper()
		e := fullEvent()
		mut(&e)
		if err := ValidateEvent(&e); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: err = %v, want ErrInvalidEvent", name, err)
		}
	}
	f("kind", func(e *mote.Event) { e.Kind = 0 })
	f("zero time", func(e *mote.Event) { e.TS = time.Time{} })
	f("after 2106", func(e *mote.Event) { e.TS = time.Unix(math.MaxUint32+1, 0) })
	f("props", func(e *mote.Event) { e.PropValues = e.PropValues[:1] })
	f("too many props", func(e *mote.Event) {
		e.PropKeys = make([]string, MaxProps+1)
		e.PropValues = make([]string, MaxProps+1)
	})
}

func TestAppendEventNoAlloc(t *testing.T) {
	e := fullEvent()
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf = AppendEvent(buf[:0], &e) }); n != 0 {
		t.Fatalf("AppendEvent allocates %v times per call", n)
	}
}

// fullSession sets every encoded field of a session row to a distinct
// value.
func fullSession(sign int8, version uint32) mote.SessionRow {
	return mote.SessionRow{
		SiteID: "site", SessionID: 0x1122334455667788, VisitorID: math.MaxUint64,
		StartTS: time.Date(2026, 3, 4, 5, 0, 0, 123, time.UTC), EndTS: time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC),
		Hostname: "example.com", EntryPage: "/", ExitPage: "/pricing", Pageviews: 3, Events: math.MaxUint32, DurationS: 367,
		Bounce: 1, ReferrerHost: "news.ycombinator.com", ReferrerSource: "Hacker News", Channel: "social",
		UTMSource: "us", UTMMedium: "um", UTMCampaign: "uc", UTMTerm: "ut", UTMContent: "uco",
		Country: "FR", Region: "FR-IDF", City: "Paris", Browser: "Firefox", OS: "Linux", Device: "desktop", Screen: "laptop",
		Sign: sign, Version: version,
	}
}

func TestRecordSessionsRoundTrip(t *testing.T) {
	e := fullEvent()
	cancel, state := fullSession(-1, 7), fullSession(1, 8)
	state.BatchID = 5 // not encoded
	enc := AppendRecord(nil, &e, &cancel, nil, &state)
	var out mote.Event
	rows, err := DecodeRecord(enc, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	state.BatchID = 0
	if len(rows) != 2 || !reflect.DeepEqual(rows[0], cancel) || !reflect.DeepEqual(rows[1], state) {
		t.Fatalf("session rows\n got %+v\nwant %+v %+v", rows, cancel, state)
	}
	if out.SessionID != e.SessionID || out.LinkURL != e.LinkURL {
		t.Fatalf("event not decoded: %+v", out)
	}
	// A hit without session rows keeps the version 1 encoding.
	if v1, v2 := AppendEvent(nil, &e), AppendRecord(nil, &e, nil); !bytes.Equal(v1, v2) || v1[0] != recordVersion {
		t.Fatal("a record without session rows must be version 1")
	}
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf = AppendRecord(buf[:0], &e, &cancel, &state) }); n != 0 {
		t.Fatalf("AppendRecord allocates %v times per call", n)
	}
	bad := state
	bad.Sign = 0
	if err := ValidateSession(&bad); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("sign 0 accepted: %v", err)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	e := fullEvent()
	f.Add(AppendEvent(nil, &e))
	cancel, state := fullSession(-1, 1), fullSession(1, 2)
	f.Add(AppendRecord(nil, &e, &cancel, &state))
	e = mote.Event{Kind: mote.KindPageview}
	f.Add(AppendEvent(nil, &e))
	f.Add(AppendRecord(nil, &e, &state))
	f.Add([]byte{})
	f.Add([]byte{1, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e1 mote.Event
		rows1, err := DecodeRecord(b, &e1, nil)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error does not wrap ErrBadRecord: %v", err)
			}
			return
		}
		// The encoding is canonical: re-encoding reproduces the input.
		ptrs := make([]*mote.SessionRow, len(rows1))
		for i := range rows1 {
			ptrs[i] = &rows1[i]
		}
		enc := AppendRecord(nil, &e1, ptrs...)
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, enc)
		}
		var e2 mote.Event
		rows2, err := DecodeRecord(enc, &e2, nil)
		if err != nil {
			t.Fatalf("decode of re-encoding: %v", err)
		}
		if !e1.TS.Equal(e2.TS) {
			t.Fatal("time not stable")
		}
		e1.TS, e2.TS = time.Time{}, time.Time{}
		if !reflect.DeepEqual(e1, e2) || !reflect.DeepEqual(rows1, rows2) {
			t.Fatalf("decode→encode→decode not stable:\n%+v\n%+v", e1, e2)
		}
	})
}

// TestValidateEventBounds: the limits themselves are accepted (the epoch,
// the last second DateTime holds, exactly MaxProps props, a sign of -1).
func TestValidateEventBounds(t *testing.T) {
	for _, ts := range []time.Time{time.Unix(0, 0), time.Unix(math.MaxUint32, 999_999_999)} {
		e := fullEvent()
		e.TS = ts
		if err := ValidateEvent(&e); err != nil {
			t.Errorf("timestamp %v refused: %v", ts, err)
		}
	}
	e := fullEvent()
	e.PropKeys, e.PropValues = make([]string, MaxProps), make([]string, MaxProps)
	if err := ValidateEvent(&e); err != nil {
		t.Errorf("%d props refused: %v", MaxProps, err)
	}
	for _, sign := range []int8{1, -1} {
		r := fullSession(sign, 1)
		if err := ValidateSession(&r); err != nil {
			t.Errorf("sign %d refused: %v", sign, err)
		}
	}
	if err := ValidateSession(nil); err != nil {
		t.Errorf("nil session row refused: %v", err)
	}
	r := fullSession(1, 1)
	r.EndTS = time.Unix(math.MaxUint32+1, 0)
	if err := ValidateSession(&r); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("session end after 2106: err = %v", err)
	}
}

// TestAppendEventMissingValues: a prop key without a value is encoded
// with an empty value, as AppendEvent documents.
func TestAppendEventMissingValues(t *testing.T) {
	e := mote.Event{Kind: mote.KindEvent, TS: time.Unix(1, 0), PropKeys: []string{"a", "b"}, PropValues: []string{"x"}}
	var out mote.Event
	if err := DecodeEvent(AppendEvent(nil, &e), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.PropValues, []string{"x", ""}) || !reflect.DeepEqual(out.PropKeys, e.PropKeys) {
		t.Fatalf("props %q=%q", out.PropKeys, out.PropValues)
	}
}

// replaceOnce returns b with the only occurrence of old replaced by new.
func replaceOnce(t *testing.T, b, old, new []byte) []byte {
	t.Helper()
	if bytes.Count(b, old) != 1 {
		t.Fatalf("%x occurs %d times in %x", old, bytes.Count(b, old), b)
	}
	return bytes.Replace(b, old, new, 1)
}

// TestDecodeRecordBounds: the range checks of the decoder accept their
// limits and refuse one past them.
func TestDecodeRecordBounds(t *testing.T) {
	ok := func(name string, b []byte) []mote.SessionRow {
		t.Helper()
		var out mote.Event
		rows, err := DecodeRecord(b, &out, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return rows
	}
	bad := func(name string, b []byte) {
		t.Helper()
		var out mote.Event
		if _, err := DecodeRecord(b, &out, nil); !errors.Is(err, ErrBadRecord) {
			t.Errorf("%s: err = %v, want ErrBadRecord", name, err)
		}
	}
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }

	// Versions other than 1 and 2.
	e := mote.Event{Kind: mote.KindPageview, TS: time.Unix(0, 0)}
	v1 := AppendEvent(nil, &e)
	for _, v := range []byte{0, 3, 255} {
		b := bytes.Clone(v1)
		b[0] = v
		bad(fmt.Sprintf("version %d", v), b)
	}

	// Session row counts: 0 and MaxSessionRows+1 are refused, MaxSessionRows is fine.
	bad("no session rows", append(append([]byte{recordVersionSessions}, v1[1:]...), 0))
	rows := make([]*mote.SessionRow, MaxSessionRows)
	for i := range rows {
		r := fullSession(1, uint32(i))
		rows[i] = &r
	}
	full := AppendRecord(nil, &e, rows...)
	if got := ok("MaxSessionRows rows", full); len(got) != MaxSessionRows {
		t.Fatalf("%d rows decoded, want %d", len(got), MaxSessionRows)
	}
	// The count follows the event body, which is as long as in v1.
	if full[len(v1)] != MaxSessionRows {
		t.Fatalf("unexpected layout %x", full)
	}
	over := bytes.Clone(full)
	over[len(v1)] = MaxSessionRows + 1
	over = appendSessionRow(over, rows[0])
	bad("MaxSessionRows+1 rows", over)

	// Engagement beyond 32 bits (same length: 0xffffffff → 0x100000000).
	e.EngagementMS = math.MaxUint32
	b := AppendEvent(nil, &e)
	ok("engagement MaxUint32", b)
	bad("engagement 2^32", replaceOnce(t, b, uv(math.MaxUint32), uv(math.MaxUint32+1)))
	e.EngagementMS = 0

	// Props: exactly MaxProps decode, one more is refused.
	e.PropKeys, e.PropValues = make([]string, MaxProps), make([]string, MaxProps)
	ok("MaxProps props", AppendEvent(nil, &e))
	e.PropKeys, e.PropValues = make([]string, MaxProps+1), make([]string, MaxProps+1)
	bad("MaxProps+1 props", AppendEvent(nil, &e))
	e.PropKeys, e.PropValues = nil, nil

	// A session row's nanoseconds must be below 1e9 and its counters fit 32 bits.
	r := mote.SessionRow{Sign: 1, StartTS: time.Unix(0, 999_999_999), EndTS: time.Unix(0, 0), Pageviews: math.MaxUint32}
	b = AppendRecord(nil, &e, &r)
	ok("session row at its limits", b)
	bad("session nanoseconds 1e9", replaceOnce(t, b, uv(999_999_999), uv(1_000_000_000)))
	bad("session nanoseconds 2e9", replaceOnce(t, b, uv(999_999_999), uv(2_000_000_000-1)))
	bad("session pageviews 2^32", replaceOnce(t, b, uv(math.MaxUint32), uv(math.MaxUint32+1)))
}

// TestDecodeTenByteVarint: a uvarint may take all ten bytes when its value
// needs 64 bits (last byte 1), but a tenth byte above 1 overflows.
func TestDecodeTenByteVarint(t *testing.T) {
	// Seconds 2^62 zigzag-encode to 2^63: nine 0x80 bytes and a final 0x01.
	e := mote.Event{Kind: mote.KindPageview, TS: time.Unix(1<<62, 0)}
	b := AppendEvent(nil, &e)
	if want := append(bytes.Repeat([]byte{0x80}, 9), 1); !bytes.Equal(b[1:11], want) {
		t.Fatalf("unexpected encoding %x", b)
	}
	var out mote.Event
	if err := DecodeEvent(b, &out); err != nil || out.TS.Unix() != 1<<62 {
		t.Fatalf("ten-byte varint: ts %v, err %v", out.TS, err)
	}
	// The site_id length 0 written as nine 0x80 bytes and 0x02 (2<<63
	// wraps to 0): refused, not read as 0.
	e = mote.Event{Kind: mote.KindPageview, TS: time.Unix(0, 0)}
	b = AppendEvent(nil, &e)
	over := append(append(bytes.Clone(b[:4]), append(bytes.Repeat([]byte{0x80}, 9), 2)...), b[5:]...)
	if err := DecodeEvent(over, &out); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("overflowing varint: err = %v", err)
	}
}

// TestValidateSessionBounds: a session row may start at the epoch and end
// at the last second DateTime holds.
func TestValidateSessionBounds(t *testing.T) {
	r := fullSession(1, 1)
	r.StartTS, r.EndTS = time.Unix(0, 0), time.Unix(math.MaxUint32, 999_999_999)
	if err := ValidateSession(&r); err != nil {
		t.Fatalf("session row at the limits of DateTime refused: %v", err)
	}
	r.StartTS = time.Unix(-1, 0)
	if err := ValidateSession(&r); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("session start before the epoch: err = %v", err)
	}
}
