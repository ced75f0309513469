package mote

import "time"

// Kind says what a stored hit was. The numeric values are the Enum8 values
// of the events.kind column; never renumber them.
type Kind uint8

const (
	KindPageview   Kind = 1
	KindEvent      Kind = 2
	KindEngagement Kind = 3
	KindEmailOpen  Kind = 4
	KindEmailClick Kind = 5
)

var kindNames = [...]string{
	KindPageview:   "pageview",
	KindEvent:      "event",
	KindEngagement: "engagement",
	KindEmailOpen:  "email_open",
	KindEmailClick: "email_click",
}

// String returns the Enum8 label of k, or "" for an unknown kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return ""
}

// Valid reports whether k is one of the declared kinds.
func (k Kind) Valid() bool { return k.String() != "" }

// Event is one stored hit: exactly the columns of the events table. It holds
// no IP address and no raw user agent; those never leave the collector's
// request handler.
//
// On the hit path an Event is reused and its strings may point into request
// buffers that live only until the handler returns, so whoever keeps an
// Event beyond that copies it first: the spool encodes it into its record
// (storage/spool's AppendEvent) before Append returns.
type Event struct {
	SiteID string
	TS     time.Time // server receive time, UTC
	Kind   Kind
	Name   string // custom event name; "" for pageviews

	Hostname string
	Pathname string

	ReferrerHost   string
	ReferrerSource string
	Channel        string

	UTMSource   string
	UTMMedium   string
	UTMCampaign string
	UTMTerm     string
	UTMContent  string

	Country string // ISO 3166-1 alpha-2
	Region  string // ISO 3166-2
	City    string // English name

	Browser        string
	BrowserVersion string
	OS             string
	OSVersion      string
	Device         string // desktop, mobile, tablet
	Screen         string // width class, see ScreenClass

	VisitorID uint64 // keyed hash, unlinkable across days
	SessionID uint64

	EngagementMS uint32
	ScrollDepth  uint8

	PropKeys   []string // props.key
	PropValues []string // props.value, same length as PropKeys

	CampaignID    string
	RecipientID   uint64 // keyed hash of the recipient token, 0 when anonymous
	MachineOpen   uint8
	MachineReason string
	LinkURL       string

	// BatchID is the spool batch that wrote the row. It is assigned by the
	// storage Batcher, not by the collector, and is not part of the spooled
	// record.
	BatchID uint64
}

// Reset clears e for reuse, keeping the capacity of its prop slices.
func (e *Event) Reset() {
	keys, values := e.PropKeys[:0], e.PropValues[:0]
	*e = Event{PropKeys: keys, PropValues: values}
}

// ScreenClass turns a viewport width in CSS pixels into the stored width
// class. Only the class is kept: an exact width helps fingerprinting and
// says little to a marketer. Zero or negative widths are unknown ("").
func ScreenClass(width int) string {
	switch {
	case width <= 0:
		return ""
	case width < 576:
		return "mobile"
	case width < 992:
		return "tablet"
	case width < 1440:
		return "laptop"
	default:
		return "desktop"
	}
}
