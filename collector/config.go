package collector

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
)

// Defaults applied to zero Config fields.
const (
	DefaultMaxBodyBytes   = 16 << 10
	DefaultReadBufferSize = 8 << 10
	DefaultReadTimeout    = 5 * time.Second
	DefaultWriteTimeout   = 5 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
	DefaultMaxURLBytes    = 6 << 10
)

// Suppressor counts a suppressed hit: the site (its configured id), the
// reason and the receive time. It is the only trace the hit leaves.
type Suppressor interface {
	Suppress(siteID string, reason mote.SuppressReason, ts time.Time)
}

// Config configures a Server. The zero value of every field means its
// default; Sites must name at least one site for anything to be stored.
type Config struct {
	// Sites are the tracked sites; hits for other site ids are not stored.
	Sites []mote.Site
	// TrustedProxies are the peers whose X-Forwarded-For / Forwarded
	// headers are believed. Empty means the socket peer is the client,
	// which is the only safe default: anyone can send those headers.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes caps a beacon body (default 16 KiB); larger is 413.
	MaxBodyBytes int
	// ReadTimeout bounds reading one request, WriteTimeout writing one
	// response, IdleTimeout waiting for the next request on a keep-alive
	// connection. They keep slow clients (slowloris) from holding
	// connections; defaults 5s, 5s, 60s.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ReadBufferSize caps the request line plus headers (default 8 KiB);
	// larger is 431.
	ReadBufferSize int
	// MaxURLBytes caps the request target (path and query; default
	// 6 KiB); longer is 414.
	MaxURLBytes int
	// RateLimit is the sustained requests per second allowed from one
	// client network (the address cut to /24 or /48), RateBurst the
	// bucket size (default twice RateLimit); past it requests get 429.
	// 0 means no limit: behind a proxy not listed in TrustedProxies every
	// client would share the proxy's bucket. See ratelimit.go.
	RateLimit float64
	RateBurst int
	// MaxConnsPerIP caps concurrent connections from one socket peer
	// address (0: no cap). Behind a proxy that is the proxy's address.
	MaxConnsPerIP int
	// Geo looks up the location of the truncated client address; nil
	// stores no location.
	Geo *enrich.Geo
	// Agents parses user agents and client hints (with its cache); nil
	// means a parser with the default cache size.
	Agents *enrich.AgentParser
	// Visitors derives the daily visitor ID from the site, the client
	// address and the user agent under the day's salt. nil stores
	// visitor_id 0, and then no sessions either.
	Visitors *enrich.SaltKeeper
	// Sessions turns hits into visits and sets session_id; nil keeps no
	// sessions. Its Sink writes the sessions rows.
	Sessions *enrich.Sessions
	// Suppressions receives the anonymous counter of every hit the privacy
	// gate suppressed (DNT, GPC, no consent, bot, prefetch); nil keeps
	// them in Counters only.
	Suppressions Suppressor
	// Campaigns holds the keys of email campaigns for /o/ and /c/; nil
	// knows no campaign (opens are not stored, clicks are 400).
	Campaigns Campaigns
	// Ready reports whether hits can be accepted (GET /readyz); nil means
	// always ready.
	Ready func() bool
	// Degraded, when set and non-empty, is added to a ready /readyz answer
	// (still 200: hits are accepted) to say what is degraded, e.g. visits
	// in progress not restored at start. Never a secret: the
	// listener is public.
	Degraded func() string
	// Now is the clock stamping events; nil means time.Now.
	Now func() time.Time
	// Logger receives the server's own diagnostics; nil means
	// slog.Default(). Nothing about a visitor is ever logged.
	Logger *slog.Logger
	// Script is the tracker served at GET /m.js (cmd passes the embedded
	// build of tracker-js); empty answers 404. New keeps its own copy.
	Script []byte
}

// withDefaults returns c with defaults filled in, or an error naming the
// first invalid field.
func (c Config) withDefaults() (Config, error) {
	// cmp.Or keeps a set field and gives a zero one its default.
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.ReadBufferSize = cmp.Or(c.ReadBufferSize, DefaultReadBufferSize)
	c.ReadTimeout = cmp.Or(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxURLBytes = cmp.Or(c.MaxURLBytes, DefaultMaxURLBytes)
	if c.RateBurst == 0 && c.RateLimit > 0 {
		c.RateBurst = max(1, int(math.Ceil(2*c.RateLimit)))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.MaxBodyBytes < 0:
		return c, fmt.Errorf("max body bytes %d: must not be negative", c.MaxBodyBytes)
	case c.ReadBufferSize < 1024:
		return c, fmt.Errorf("read buffer size %d: must be at least 1024 bytes", c.ReadBufferSize)
	case c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0:
		return c, errors.New("timeouts must not be negative")
	case c.MaxURLBytes < 0:
		return c, fmt.Errorf("max url bytes %d: must not be negative", c.MaxURLBytes)
	case c.RateLimit < 0 || math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0):
		return c, fmt.Errorf("rate limit %v: must be a non-negative number", c.RateLimit)
	case c.RateBurst < 0:
		return c, fmt.Errorf("rate burst %d: must not be negative", c.RateBurst)
	case c.MaxConnsPerIP < 0:
		return c, fmt.Errorf("max conns per ip %d: must not be negative", c.MaxConnsPerIP)
	}
	seen := make(map[string]bool, len(c.Sites))
	for i, s := range c.Sites {
		if s.ID == "" {
			return c, fmt.Errorf("site %d: empty id", i)
		}
		if len(s.ID) > maxSiteLen {
			return c, fmt.Errorf("site %q: id longer than %d bytes", s.ID, maxSiteLen)
		}
		if seen[s.ID] {
			return c, fmt.Errorf("site %q: listed twice", s.ID)
		}
		seen[s.ID] = true
		if len(s.Hostnames) == 0 {
			return c, fmt.Errorf("site %q: no hostnames", s.ID)
		}
	}
	for i, p := range c.TrustedProxies {
		if !p.IsValid() {
			return c, fmt.Errorf("trusted proxy %d: invalid prefix", i)
		}
	}
	return c, nil
}
