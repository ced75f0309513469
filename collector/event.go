package collector

import (
	"bytes"
	"net/netip"

	"github.com/valyala/fasthttp"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
)

// event serves POST /api/event, the tracker's beacon (see event_body.go
// for the body). It answers 202 with no body whether or not the hit was
// stored, 400 for a body that is not a beacon, 413 when too large, 415 for
// another content type and 503 when the Sink fails.
func (s *Server) event(ctx *fasthttp.RequestCtx, ip netip.Addr) {
	ctx.Response.Header.Set(fasthttp.HeaderVary, "Origin")
	if !beaconType(ctx.Request.Header.ContentType()) {
		s.stats.reject(reasonMalformed)
		text(ctx, fasthttp.StatusUnsupportedMediaType, bodyBadType)
		return
	}
	body := ctx.PostBody()
	if len(body) > s.cfg.MaxBodyBytes {
		// fasthttp enforces the limit while reading; this guards the
		// contract should that ever change.
		s.stats.reject(reasonTooLarge)
		text(ctx, fasthttp.StatusRequestEntityTooLarge, bodyTooLarge)
		return
	}
	h := s.getHit(ip)
	defer s.putHit(h)
	b := &h.beacon
	if err := parseEventBody(body, &h.sc, b); err != nil {
		r := reasonMalformed
		if err == errUnprintableName {
			r = reasonUnprintableName
		}
		s.stats.reject(r)
		text(ctx, fasthttp.StatusBadRequest, bodyMalformed)
		return
	}
	if b.cleaned {
		s.stats.controlChars.Add(1)
	}
	if site := s.sites[b.site]; site != nil {
		s.allowOrigin(ctx, &site.Site)
	}
	kind := mote.KindEvent
	switch {
	case !b.hasName || b.name == "pageview":
		kind = mote.KindPageview
	case b.name == "engagement":
		kind = mote.KindEngagement
	}
	if s.record(ctx, h, kind) == failed {
		text(ctx, fasthttp.StatusServiceUnavailable, bodyUnavail)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
}

// beaconType accepts what navigator.sendBeacon sends for a string
// (text/plain;charset=UTF-8), application/json, and no type at all.
// Parameters are ignored; the body is parsed as UTF-8 JSON regardless.
func beaconType(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	return len(ct) == 0 ||
		bytes.EqualFold(ct, []byte("text/plain")) ||
		bytes.EqualFold(ct, []byte("application/json"))
}

// preflight answers a CORS preflight for POST /api/event. The body (and
// so the site) is unknown here, so an origin is allowed when any
// configured site lists its host. An unlisted origin gets 204 without
// Access-Control-Allow-Origin, which the browser treats as a refusal.
func (s *Server) preflight(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set(fasthttp.HeaderVary, "Origin")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	host, ok := originHost(ctx.Request.Header.Peek(fasthttp.HeaderOrigin))
	if !ok {
		return
	}
	for _, site := range s.sites {
		if site.AllowsHost(host) {
			h := &ctx.Response.Header
			h.SetBytesV(fasthttp.HeaderAccessControlAllowOrigin, ctx.Request.Header.Peek(fasthttp.HeaderOrigin))
			h.Set(fasthttp.HeaderAccessControlAllowMethods, "POST")
			h.Set(fasthttp.HeaderAccessControlAllowHeaders, "Content-Type")
			h.Set(fasthttp.HeaderAccessControlMaxAge, "86400")
			return
		}
	}
}

// allowOrigin echoes the request's Origin when the site lists its host.
// It never answers "*" and never allows credentials: the tracker sends
// none, and a cookie must never reach the collector's answer.
func (s *Server) allowOrigin(ctx *fasthttp.RequestCtx, site *mote.Site) {
	origin := ctx.Request.Header.Peek(fasthttp.HeaderOrigin)
	if host, ok := originHost(origin); ok && site.AllowsHost(host) {
		ctx.Response.Header.SetBytesV(fasthttp.HeaderAccessControlAllowOrigin, origin)
	}
}

// originHost returns the host of an Origin header ("https://example.com",
// perhaps with a port). Anything that is not a bare serialised origin
// (a path, query, fragment or user info, or "null") is refused, so what
// gets echoed back is always a plain origin.
func originHost(origin []byte) (string, bool) {
	if len(origin) == 0 || len(origin) > maxURLLen {
		return "", false
	}
	if i := bytes.Index(origin, []byte("://")); i < 0 || bytes.ContainsAny(origin[i+3:], "/?#@") {
		return "", false
	}
	host, _, ok := enrich.SplitURL(enrich.UnsafeString(origin))
	return host, ok
}
