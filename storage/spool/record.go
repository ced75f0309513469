package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mote-analytics/mote"
)

// The spool stores each Event as one record in a small binary format of our
// own rather than JSON or gob: it is written on the hit path, where it must
// not allocate, and read back by the Batcher, where it must be cheap and
// strict. Strict means every record has exactly one valid encoding (minimal
// varints, no trailing bytes), so decode→encode reproduces the input byte
// for byte and a damaged record is rejected instead of becoming a garbage
// row in ClickHouse.
//
// Layout of version 1 (uvarint and varint as in encoding/binary, strings as
// uvarint length + bytes, u64 as 8 bytes little endian):
//
//	version byte (=1)
//	ts seconds varint, ts nanoseconds uvarint (< 1e9)
//	kind byte (a valid mote.Kind)
//	site_id, name, hostname, pathname, referrer_host, referrer_source,
//	channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
//	country, region, city, browser, browser_version, os, os_version,
//	device, screen: string each
//	visitor_id u64, session_id u64
//	engagement_ms uvarint (≤ MaxUint32), scroll_depth byte
//	props count uvarint, then key string, value string per prop
//	campaign_id string, recipient_id u64, machine_open byte,
//	machine_reason string, link_url string
//
// BatchID is not encoded: the Batcher assigns it from the spool position.
//
// Version 2 is version 1 followed by the session rows the hit produced
// (AppendRecord): a count uvarint (1 to MaxSessionRows), then per row
//
//	site_id, hostname, entry_page, exit_page, referrer_host,
//	referrer_source, channel, utm_source, utm_medium, utm_campaign,
//	utm_term, utm_content, country, region, city, browser, os, device,
//	screen: string each
//	session_id u64, visitor_id u64
//	start_ts, end_ts: seconds varint, nanoseconds uvarint each
//	pageviews, events, duration_s: uvarint each (≤ MaxUint32)
//	bounce byte, sign byte (1 or 0xff), version uvarint (≤ MaxUint32)
//
// A hit without session rows is written as version 1, so each record
// keeps exactly one encoding, and spools written before version 2 read
// unchanged.
const (
	recordVersion         = 1
	recordVersionSessions = 2
)

// MaxSessionRows is the most session rows one record carries (a hit
// writes at most two: the cancel of the visit's previous state and the
// new state).
const MaxSessionRows = 4

// Limits a record must respect. The collector caps far below them; they
// exist so that a corrupt length can never make the decoder allocate
// without bound, and so that Append can refuse an event the Batcher could
// never insert (which would wedge the spool behind it forever).
const (
	// MaxRecordBytes is the largest encoded event the spool accepts.
	MaxRecordBytes = 1 << 20
	// MaxProps is the largest number of custom properties per event.
	MaxProps = 1024
)

// Errors returned by DecodeEvent and ValidateEvent. They are sentinels so
// that callers can tell a damaged record from an event that was refused.
var (
	ErrBadRecord    = errors.New("bad spool record")
	ErrInvalidEvent = errors.New("invalid event")
)

// The range of ClickHouse's DateTime column: seconds since the epoch as an
// unsigned 32-bit number. An event outside it could never be inserted.
const (
	minTSUnix = 0
	maxTSUnix = math.MaxUint32
)

// ValidateEvent reports whether e can be spooled and later inserted: a
// valid Kind, a timestamp DateTime can hold, as many prop values as keys,
// at most MaxProps props. Spool.Append calls it; AppendEvent does not.
func ValidateEvent(e *mote.Event) error {
	if !e.Kind.Valid() {
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidEvent, e.Kind)
	}
	if s := e.TS.Unix(); s < minTSUnix || s > maxTSUnix {
		return fmt.Errorf("%w: timestamp out of range", ErrInvalidEvent)
	}
	if len(e.PropKeys) != len(e.PropValues) {
		return fmt.Errorf("%w: %d prop keys but %d values", ErrInvalidEvent, len(e.PropKeys), len(e.PropValues))
	}
	if len(e.PropKeys) > MaxProps {
		return fmt.Errorf("%w: %d props, at most %d", ErrInvalidEvent, len(e.PropKeys), MaxProps)
	}
	return nil
}

// ValidateSession reports whether a session row (nil is allowed: it is
// skipped) can be spooled and later inserted: a sign of +1 or -1 and
// timestamps DateTime can hold.
func ValidateSession(r *mote.SessionRow) error {
	if r == nil {
		return nil
	}
	if r.Sign != 1 && r.Sign != -1 {
		return fmt.Errorf("%w: session row sign %d", ErrInvalidEvent, r.Sign)
	}
	for _, t := range [...]time.Time{r.StartTS, r.EndTS} {
		if s := t.Unix(); s < minTSUnix || s > maxTSUnix {
			return fmt.Errorf("%w: session timestamp out of range", ErrInvalidEvent)
		}
	}
	return nil
}

// AppendEvent appends the record encoding of e (every field but BatchID)
// to dst and returns the extended slice. It copies every byte of e's
// strings, so the result does not alias e. It does not allocate when dst
// has enough capacity. The event should pass ValidateEvent; if it has
// more prop keys than values, the missing values are encoded as "".
func AppendEvent(dst []byte, e *mote.Event) []byte {
	return AppendRecord(dst, e)
}

// AppendRecord appends the record of e and the session rows its hit
// produced (at most MaxSessionRows; nil entries are skipped) to dst, as
// AppendEvent does for e alone. It does not allocate when dst has enough
// capacity.
func AppendRecord(dst []byte, e *mote.Event, sessions ...*mote.SessionRow) []byte {
	n := 0
	for _, r := range sessions {
		if r != nil {
			n++
		}
	}
	if n == 0 {
		return appendEventBody(append(dst, recordVersion), e)
	}
	dst = appendEventBody(append(dst, recordVersionSessions), e)
	dst = binary.AppendUvarint(dst, uint64(n))
	for _, r := range sessions {
		if r != nil {
			dst = appendSessionRow(dst, r)
		}
	}
	return dst
}

func appendEventBody(dst []byte, e *mote.Event) []byte {
	dst = binary.AppendVarint(dst, e.TS.Unix())
	dst = binary.AppendUvarint(dst, uint64(e.TS.Nanosecond()))
	dst = append(dst, byte(e.Kind))
	for _, s := range [...]string{
		e.SiteID, e.Name, e.Hostname, e.Pathname,
		e.ReferrerHost, e.ReferrerSource, e.Channel,
		e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent,
		e.Country, e.Region, e.City,
		e.Browser, e.BrowserVersion, e.OS, e.OSVersion, e.Device, e.Screen,
	} {
		dst = appendString(dst, s)
	}
	dst = binary.LittleEndian.AppendUint64(dst, e.VisitorID)
	dst = binary.LittleEndian.AppendUint64(dst, e.SessionID)
	dst = binary.AppendUvarint(dst, uint64(e.EngagementMS))
	dst = append(dst, e.ScrollDepth)
	dst = binary.AppendUvarint(dst, uint64(len(e.PropKeys)))
	for i, k := range e.PropKeys {
		v := ""
		if i < len(e.PropValues) {
			v = e.PropValues[i]
		}
		dst = appendString(dst, k)
		dst = appendString(dst, v)
	}
	dst = appendString(dst, e.CampaignID)
	dst = binary.LittleEndian.AppendUint64(dst, e.RecipientID)
	dst = append(dst, e.MachineOpen)
	dst = appendString(dst, e.MachineReason)
	dst = appendString(dst, e.LinkURL)
	return dst
}

func appendSessionRow(dst []byte, r *mote.SessionRow) []byte {
	for _, s := range [...]string{r.SiteID, r.Hostname, r.EntryPage, r.ExitPage, r.ReferrerHost, r.ReferrerSource,
		r.Channel, r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.Country, r.Region, r.City,
		r.Browser, r.OS, r.Device, r.Screen} {
		dst = appendString(dst, s)
	}
	dst = binary.LittleEndian.AppendUint64(dst, r.SessionID)
	dst = binary.LittleEndian.AppendUint64(dst, r.VisitorID)
	for _, t := range [...]time.Time{r.StartTS, r.EndTS} {
		dst = binary.AppendVarint(dst, t.Unix())
		dst = binary.AppendUvarint(dst, uint64(t.Nanosecond()))
	}
	dst = binary.AppendUvarint(dst, uint64(r.Pageviews))
	dst = binary.AppendUvarint(dst, uint64(r.Events))
	dst = binary.AppendUvarint(dst, uint64(r.DurationS))
	dst = append(dst, r.Bounce, byte(r.Sign))
	return binary.AppendUvarint(dst, uint64(r.Version))
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// DecodeEvent decodes the event of one record produced by AppendEvent or
// AppendRecord into e (the record's session rows are checked and left
// out), as DecodeRecord does.
func DecodeEvent(src []byte, e *mote.Event) error {
	var rows [MaxSessionRows]mote.SessionRow
	_, err := DecodeRecord(src, e, rows[:0])
	return err
}

// DecodeRecord decodes one record into e, overwriting every field
// (BatchID becomes 0) and reusing the capacity of e's prop slices, and
// appends its session rows (BatchID 0) to sessions. The decoded strings
// share one copy of src, made once, so e and the rows stay valid after src
// is reused. Any deviation from the canonical encoding is an error
// wrapping ErrBadRecord, and e and the rows are then unspecified.
func DecodeRecord(src []byte, e *mote.Event, sessions []mote.SessionRow) ([]mote.SessionRow, error) {
	if len(src) > MaxRecordBytes {
		return sessions, fmt.Errorf("%w: %d bytes, at most %d", ErrBadRecord, len(src), MaxRecordBytes)
	}
	d := decoder{s: string(src)}
	v := d.byte()
	if d.err == nil && v != recordVersion && v != recordVersionSessions {
		return sessions, fmt.Errorf("%w: unknown version %d", ErrBadRecord, v)
	}
	d.event(e)
	if d.err == nil && v == recordVersionSessions {
		n := d.uvarint()
		if d.err == nil && (n == 0 || n > MaxSessionRows) {
			d.fail("session row count out of range")
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			sessions = append(sessions, mote.SessionRow{})
			d.session(&sessions[len(sessions)-1])
		}
	}
	if d.err == nil && len(d.s) != 0 {
		d.fail("trailing bytes")
	}
	return sessions, d.err
}

// event decodes a record's event fields.
func (d *decoder) event(e *mote.Event) {
	keys, values := e.PropKeys[:0], e.PropValues[:0]
	*e = mote.Event{}
	sec := d.varint()
	nsec := d.uvarint()
	if d.err == nil && nsec >= uint64(time.Second) {
		d.fail("nanoseconds out of range")
	}
	if d.err == nil {
		e.TS = time.Unix(sec, int64(nsec)).UTC()
	}
	e.Kind = mote.Kind(d.byte())
	if d.err == nil && !e.Kind.Valid() {
		d.fail("invalid kind")
	}
	for _, p := range [...]*string{
		&e.SiteID, &e.Name, &e.Hostname, &e.Pathname,
		&e.ReferrerHost, &e.ReferrerSource, &e.Channel,
		&e.UTMSource, &e.UTMMedium, &e.UTMCampaign, &e.UTMTerm, &e.UTMContent,
		&e.Country, &e.Region, &e.City,
		&e.Browser, &e.BrowserVersion, &e.OS, &e.OSVersion, &e.Device, &e.Screen,
	} {
		*p = d.string()
	}
	e.VisitorID = d.u64()
	e.SessionID = d.u64()
	ms := d.uvarint()
	if d.err == nil && ms > math.MaxUint32 {
		d.fail("engagement out of range")
	}
	e.EngagementMS = uint32(ms)
	e.ScrollDepth = d.byte()
	n := d.uvarint()
	if d.err == nil && n > MaxProps {
		d.fail("too many props")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		keys = append(keys, d.string())
		values = append(values, d.string())
	}
	e.PropKeys, e.PropValues = keys, values
	e.CampaignID = d.string()
	e.RecipientID = d.u64()
	e.MachineOpen = d.byte()
	e.MachineReason = d.string()
	e.LinkURL = d.string()
}

// session decodes one session row of a version 2 record.
func (d *decoder) session(r *mote.SessionRow) {
	for _, p := range [...]*string{&r.SiteID, &r.Hostname, &r.EntryPage, &r.ExitPage, &r.ReferrerHost,
		&r.ReferrerSource, &r.Channel, &r.UTMSource, &r.UTMMedium, &r.UTMCampaign, &r.UTMTerm, &r.UTMContent,
		&r.Country, &r.Region, &r.City, &r.Browser, &r.OS, &r.Device, &r.Screen} {
		*p = d.string()
	}
	r.SessionID = d.u64()
	r.VisitorID = d.u64()
	r.StartTS = d.time()
	r.EndTS = d.time()
	r.Pageviews = d.u32()
	r.Events = d.u32()
	r.DurationS = d.u32()
	r.Bounce = d.byte()
	switch s := int8(d.byte()); s {
	case 1, -1:
		r.Sign = s
	default:
		d.fail("invalid sign")
	}
	r.Version = d.u32()
}

// time reads seconds (varint) and nanoseconds (uvarint, < 1e9).
func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if d.err == nil && nsec >= uint64(time.Second) {
		d.fail("nanoseconds out of range")
	}
	if d.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// u32 reads a uvarint that must fit in 32 bits.
func (d *decoder) u32() uint32 {
	v := d.uvarint()
	if d.err == nil && v > math.MaxUint32 {
		d.fail("value out of range")
	}
	return uint32(v)
}

// decoder reads a record from a string; after the first error every read
// returns a zero value, so DecodeEvent checks d.err only where a value
// guards what follows.
type decoder struct {
	s   string
	err error
}

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrBadRecord, why)
	}
	d.s = ""
}

func (d *decoder) byte() byte {
	if len(d.s) < 1 {
		d.fail("truncated")
		return 0
	}
	b := d.s[0]
	d.s = d.s[1:]
	return b
}

func (d *decoder) u64() uint64 {
	if len(d.s) < 8 {
		d.fail("truncated")
		return 0
	}
	v := uint64(d.s[0]) | uint64(d.s[1])<<8 | uint64(d.s[2])<<16 | uint64(d.s[3])<<24 |
		uint64(d.s[4])<<32 | uint64(d.s[5])<<40 | uint64(d.s[6])<<48 | uint64(d.s[7])<<56
	d.s = d.s[8:]
	return v
}

// uvarint reads a minimally encoded uvarint: a non-minimal encoding (a
// final 0x00 byte after a continuation) is rejected so that every value
// has exactly one representation.
func (d *decoder) uvarint() uint64 {
	var v uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if i >= len(d.s) {
			d.fail("truncated varint")
			return 0
		}
		b := d.s[i]
		if i == binary.MaxVarintLen64-1 && b > 1 {
			d.fail("varint overflows")
			return 0
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if b == 0 && i > 0 {
				d.fail("non-minimal varint")
				return 0
			}
			d.s = d.s[i+1:]
			return v
		}
	}
	d.fail("varint overflows")
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)) {
		d.fail("string longer than record")
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}
