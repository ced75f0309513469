package collector

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
)

// outcome is what happened to one parsed beacon.
type outcome uint8

const (
	stored  outcome = iota // the Sink accepted it
	dropped                // nothing stored, answered as if stored
	failed                 // the Sink refused it: 503
)

// record runs a parsed beacon through the site gate and enrichment and
// hands the Event to the Sink. kind is the event kind the beacon asked for.
func (s *Server) record(ctx *fasthttp.RequestCtx, h *hit, kind mote.Kind) outcome {
	b := &h.beacon
	site := s.sites[b.site]
	if site == nil {
		s.stats.reject(reasonUnknownSite)
		return dropped
	}
	page := &h.page
	if !enrich.MinimizeURL(b.url, site.urls, page) || !site.AllowsHost(page.Host) {
		s.stats.reject(reasonBadHostname)
		return dropped
	}
	// The address (read once, in handle) is truncated for the geo lookup,
	// hashed into the visitor ID and then forgotten.
	ip := h.ip
	hdr := &ctx.Request.Header
	agent := s.agentOf(hdr)
	now := s.now()
	referral := enrich.ClassifyReferrer(enrich.ReferrerHost(b.ref, page.Host), page.Host, page.UTMSource, page.UTMMedium)
	reason := gate(hdr, &site.Site, b, agent.Bot)
	if reason == 0 && referral.Drop {
		reason = mote.SuppressSpam
	}
	if reason != 0 {
		s.suppress(site.ID, reason, now)
		return dropped
	}
	loc := s.cfg.Geo.Lookup(ip, site.precision)

	ev := &h.ev
	fillEvent(ev, site.ID, now, kind, &loc, &agent)
	fillPage(ev, page, &referral)
	if kind == mote.KindEvent {
		ev.Name = b.name
	}
	ev.Screen = mote.ScreenClass(int(clamp(b.width, 0, maxScreenWidth)))
	if kind == mote.KindEngagement {
		ev.EngagementMS = uint32(clamp(b.engagementMS, 0, maxEngagement))
		ev.ScrollDepth = uint8(clamp(b.scroll, 0, 100))
	}
	ev.PropKeys = append(ev.PropKeys, b.propKeys...)
	ev.PropValues = append(ev.PropValues, b.propValues...)
	// The visitor ID is the last use of the address and the user agent;
	// the session cache then sees only the ID.
	if s.cfg.Visitors != nil {
		ev.VisitorID = s.cfg.Visitors.VisitorID(now, site.ID, ip, enrich.UnsafeString(hdr.UserAgent()), s.liveness)
	}
	var rows []*mote.SessionRow
	if s.cfg.Sessions != nil && s.cfg.Sessions.Track(ev, &h.session) {
		u := &h.session
		h.rows[0], h.rows[1] = &u.Cancel, &u.State
		rows = h.rows[:]
		if !u.HasCancel {
			rows = h.rows[1:]
		}
	}
	o := s.store(ev, rows...)
	if o == failed && rows != nil {
		// Track counted a hit that is not stored: the visit's stored
		// state is the one before it. Forgetting the visit keeps the
		// table consistent (the next hit starts a visit rather than
		// cancelling a state never stored).
		s.cfg.Sessions.Forget(ev.VisitorID)
	}
	return o
}

// fillEvent is the one place an Event gets what every kind of hit has:
// its site, time and kind, the location of the truncated address and the
// parsed user agent. Web hits add their page with fillPage; email hits
// their campaign fields.
func fillEvent(ev *mote.Event, siteID string, now time.Time, kind mote.Kind, loc *enrich.Location, agent *enrich.Agent) {
	ev.SiteID = siteID
	ev.TS = now
	ev.Kind = kind
	ev.Country, ev.Region, ev.City = loc.Country, loc.Region, loc.City
	ev.Browser, ev.BrowserVersion = agent.Browser, agent.BrowserVersion
	ev.OS, ev.OSVersion, ev.Device = agent.OS, agent.OSVersion, agent.Device
}

// fillPage sets a web hit's page, its campaign parameters and where the
// visitor came from.
func fillPage(ev *mote.Event, page *enrich.Page, ref *enrich.Referral) {
	ev.Hostname = page.Host
	ev.Pathname = page.Path
	ev.ReferrerHost, ev.ReferrerSource, ev.Channel = ref.Host, ref.Source, ref.Channel
	ev.UTMSource, ev.UTMMedium, ev.UTMCampaign = page.UTMSource, page.UTMMedium, page.UTMCampaign
	ev.UTMTerm, ev.UTMContent = page.UTMTerm, page.UTMContent
}

// store hands an enriched event and its session rows to the Sink; a
// refusal is answered 503.
func (s *Server) store(ev *mote.Event, sessions ...*mote.SessionRow) outcome {
	if err := s.sink.Append(ev, sessions...); err != nil {
		s.stats.reject(reasonUnavailable)
		s.logSinkError(err)
		return failed
	}
	s.stats.accepted.Add(1)
	return stored
}

// suppress counts a hit the privacy gate kept out of storage: in Counters
// and, when configured, in the anonymous (site, day, reason) counter.
func (s *Server) suppress(siteID string, reason mote.SuppressReason, now time.Time) {
	s.stats.suppressed[reason].Add(1)
	if s.cfg.Suppressions != nil {
		s.cfg.Suppressions.Suppress(siteID, reason, now)
	}
}

// agentOf parses the request's User-Agent with the client hints that
// win over it (Accept-CH asks for exactly these).
func (s *Server) agentOf(h *fasthttp.RequestHeader) enrich.Agent {
	return s.agents.Parse(enrich.UnsafeString(h.UserAgent()), enrich.ClientHints{
		UA:              enrich.UnsafeString(h.Peek("Sec-CH-UA")),
		Mobile:          enrich.UnsafeString(h.Peek("Sec-CH-UA-Mobile")),
		Platform:        enrich.UnsafeString(h.Peek("Sec-CH-UA-Platform")),
		PlatformVersion: enrich.UnsafeString(h.Peek("Sec-CH-UA-Platform-Version")),
	})
}

func clamp(v, lo, hi int64) int64 {
	return max(lo, min(v, hi))
}

// logSinkError logs a Sink failure at most once a second (wall clock,
// not Config.Now, which may be a test's frozen clock).
func (s *Server) logSinkError(err error) {
	now := time.Now().Unix()
	last := s.lastSinkLog.Load()
	if now > last && s.lastSinkLog.CompareAndSwap(last, now) {
		s.log.Warn("collector: sink refused hits; answering 503", "err", err)
	}
}

// gate is the privacy gate for a hit of a known site on an allowed host: it
// returns why the hit must not be stored, or 0. The caller answers exactly
// as for a stored hit, so a page cannot tell which visitors are measured.
//
// The order decides which reason a hit is counted under when several
// apply: the visitor's own signals (DNT, GPC) first, then the site's
// consent rule, then traffic that is not a person viewing a page.
func gate(h *fasthttp.RequestHeader, site *mote.Site, b *beacon, bot bool) mote.SuppressReason {
	switch reason := optedOut(h, site); {
	case reason != 0:
		return reason
	case site.Consent == mote.ConsentRequired && !b.consent:
		return mote.SuppressNoConsent
	case bot:
		return mote.SuppressBot
	case isPrefetch(h):
		return mote.SuppressPrefetch
	}
	return 0
}

// optedOut is the visitor's own signal, which every kind of hit honours
// (pageviews, events, email opens): DNT: 1, then Sec-GPC: 1, unless the
// site ignores them.
func optedOut(h *fasthttp.RequestHeader, site *mote.Site) mote.SuppressReason {
	switch {
	case site.IgnoreDNT:
	case string(h.Peek("DNT")) == "1":
		return mote.SuppressDNT
	case string(h.Peek("Sec-GPC")) == "1":
		return mote.SuppressGPC
	}
	return 0
}

// isPrefetch reports whether the Purpose / Sec-Purpose header names a
// prefetch ("prefetch", "prefetch;prerender", "prefetch;anonymous-client-ip"):
// a page fetched speculatively has not been seen by anyone.
func isPrefetch(h *fasthttp.RequestHeader) bool {
	for _, v := range [...][]byte{h.Peek("Sec-Purpose"), h.Peek("Purpose")} {
		if bytes.HasPrefix(bytes.TrimSpace(v), []byte("prefetch")) {
			return true
		}
	}
	return false
}
