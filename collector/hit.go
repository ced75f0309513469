package collector

import (
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
	// Consent-required sites store nothing without the visitor's explicit
	// signal. The full privacy gate (DNT, GPC, bots, prefetch and the
	// suppressed counters in storage) builds on this check.
	if site.Consent == mote.ConsentRequired && !b.consent {
		s.stats.reject(reasonNoConsent)
		return dropped
	}
	host, path, ok := enrich.SplitURL(b.url)
	if !ok || !site.AllowsHost(host) {
		s.stats.reject(reasonBadHostname)
		return dropped
	}

	// The address is parsed on every hit so that its cost is part of the
	// hit path from the start; geo and visitor hashing will consume it.
	ip := clientAddr(s.trusted, peerAddr(ctx.RemoteIP()), &ctx.Request.Header)
	if s.onClientIP != nil {
		s.onClientIP(ip)
	}

	ev := &h.ev
	ev.SiteID = site.ID
	ev.TS = s.now()
	ev.Kind = kind
	if kind == mote.KindEvent {
		ev.Name = b.name
	}
	ev.Hostname = host
	ev.Pathname = path
	ev.ReferrerHost = enrich.ReferrerHost(b.ref, host)
	ev.Screen = mote.ScreenClass(int(clamp(b.width, 0, maxScreenWidth)))
	if kind == mote.KindEngagement {
		ev.EngagementMS = uint32(clamp(b.engagementMS, 0, maxEngagement))
		ev.ScrollDepth = uint8(clamp(b.scroll, 0, 100))
	}
	ev.PropKeys = append(ev.PropKeys, b.propKeys...)
	ev.PropValues = append(ev.PropValues, b.propValues...)

	if err := s.sink.Append(ev); err != nil {
		s.stats.reject(reasonUnavailable)
		s.logSinkError(err)
		return failed
	}
	s.stats.accepted.Add(1)
	return stored
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
