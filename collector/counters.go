package collector

import (
	"sync/atomic"

	"github.com/mote-analytics/mote"
)

// reason says why a request stored nothing. The values index counters.
type reason uint8

const (
	reasonUnknownSite     reason = iota // site id not configured
	reasonBadHostname                   // page URL missing, unparsable or host not on the site's list
	reasonTooLarge                      // body over MaxBodyBytes (413)
	reasonMalformed                     // unparsable body, query or request (400, or GIF for the pixel)
	reasonUnavailable                   // the Sink refused (503)
	reasonNotFound                      // no such endpoint (404)
	reasonRateLimited                   // over the per-network rate limit (429)
	reasonUnprintableName               // an event name with nothing printable (400)
	reasonBadFraming                    // ambiguous HTTP framing (400, connection closed; see framing.go)
	numReasons
)

// Counters is a snapshot of the server's counters since New. Received counts
// every request read (health checks and CORS preflights included, which
// are neither accepted nor rejected); Accepted counts hits the Sink took.
// The other fields count requests that stored nothing, by reason.
type Counters struct {
	Received uint64
	Accepted uint64

	UnknownSite uint64 // site id not configured
	BadHostname uint64 // page URL missing or unparsable, or its host not allowed for the site
	TooLarge    uint64 // body over MaxBodyBytes, or headers over ReadBufferSize
	Malformed   uint64 // bad JSON, bad pixel parameters, unparsable request
	Unavailable uint64 // the Sink failed (spool full or closed): 503
	NotFound    uint64 // unknown path or method
	RateLimited uint64 // over the per-network rate limit: 429
	// UnprintableName counts beacons refused (400) because the event name
	// had nothing printable once control characters were removed.
	UnprintableName uint64
	// ControlChars counts beacons whose strings had control characters
	// removed (they went on without them); not a rejection.
	ControlChars uint64
	// BadFraming counts requests refused because their framing was
	// ambiguous (see framing.go) and connections closed at their first
	// bytes (a TLS hello, a bare-LF request line).
	BadFraming uint64
	// Suppressed counts hits of known sites that the privacy gate did not
	// store, indexed by mote.SuppressReason.
	Suppressed [maxSuppressReason + 1]uint64
}

// maxSuppressReason is the largest mote.SuppressReason value.
const maxSuppressReason = mote.SuppressSpam

// SuppressedBy returns the suppression counters under their
// mote.SuppressReason labels.
func (s Counters) SuppressedBy() map[string]uint64 {
	out := make(map[string]uint64, len(s.Suppressed))
	for r, n := range s.Suppressed {
		if label := mote.SuppressReason(r).String(); label != "" {
			out[label] = n
		}
	}
	return out
}

// Rejected is the sum of the reason counters.
func (s Counters) Rejected() uint64 {
	return s.UnknownSite + s.BadHostname + s.TooLarge + s.Malformed + s.Unavailable + s.NotFound + s.RateLimited + s.UnprintableName + s.BadFraming
}

// Reasons returns the reason counters under the labels used for metrics,
// so an exporter does not have to track the field list.
func (s Counters) Reasons() map[string]uint64 {
	return map[string]uint64{
		"unknown_site":     s.UnknownSite,
		"bad_hostname":     s.BadHostname,
		"too_large":        s.TooLarge,
		"malformed":        s.Malformed,
		"unavailable":      s.Unavailable,
		"not_found":        s.NotFound,
		"rate_limited":     s.RateLimited,
		"unprintable_name": s.UnprintableName,
		"bad_framing":      s.BadFraming,
	}
}

// counters are updated on the hit path with atomic adds only: a mutex
// there would serialise every handler.
type counters struct {
	received, accepted atomic.Uint64
	controlChars       atomic.Uint64
	rejected           [numReasons]atomic.Uint64
	suppressed         [maxSuppressReason + 1]atomic.Uint64
}

func (c *counters) reject(r reason) { c.rejected[r].Add(1) }

func (c *counters) snapshot() Counters {
	st := Counters{
		Received:    c.received.Load(),
		Accepted:    c.accepted.Load(),
		UnknownSite: c.rejected[reasonUnknownSite].Load(),
		BadHostname: c.rejected[reasonBadHostname].Load(),
		TooLarge:    c.rejected[reasonTooLarge].Load(),
		Malformed:   c.rejected[reasonMalformed].Load(),
		Unavailable: c.rejected[reasonUnavailable].Load(),
		NotFound:    c.rejected[reasonNotFound].Load(),
		RateLimited: c.rejected[reasonRateLimited].Load(),

		UnprintableName: c.rejected[reasonUnprintableName].Load(),
		ControlChars:    c.controlChars.Load(),
		BadFraming:      c.rejected[reasonBadFraming].Load(),
	}
	for r := range st.Suppressed {
		st.Suppressed[r] = c.suppressed[r].Load()
	}
	return st
}
