package collector

import (
	"bytes"
	"net/netip"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
)

// Campaigns gives the collector the keys of email campaigns. cmd implements
// it with an in-memory table it refreshes from storage, so Lookup runs on
// the hit path without I/O; it must not block, allocate, or keep id (which
// may alias a request buffer).
type Campaigns interface {
	Lookup(id string) (CampaignKeys, bool)
}

// CampaignKeys is what the collector needs of one campaign.
type CampaignKeys struct {
	ID        string // the campaign id, a long-lived string (stored in events)
	SiteID    string
	WindowEnd time.Time // opens and clicks from then on are not stored
	Recipient [enrich.RecipientKeyLen]byte
	Link      [enrich.LinkKeyLen]byte
	Wiped     bool // the keys are gone: the window has closed
}

// maxCampaignIDLen caps a campaign id in a URL; ids cmd creates are short.
const maxCampaignIDLen = 64

// validCampaignID accepts 1 to 64 bytes of [A-Za-z0-9_-].
func validCampaignID(id []byte) bool {
	if len(id) == 0 || len(id) > maxCampaignIDLen {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parseOpenPath splits "/o/{campaign}.gif" and "/o/{campaign}/{token}.gif".
// ok is false when the path has neither shape or the campaign id is
// malformed; a token that is empty or fails enrich.ValidToken comes back
// nil, and the open counts as anonymous.
func parseOpenPath(p []byte) (campaign, token []byte, ok bool) {
	rest, found := bytes.CutPrefix(p, []byte("/o/"))
	if !found {
		return nil, nil, false
	}
	if rest, found = bytes.CutSuffix(rest, []byte(".gif")); !found {
		return nil, nil, false
	}
	campaign, token, _ = bytes.Cut(rest, []byte("/"))
	if !validCampaignID(campaign) {
		return nil, nil, false
	}
	if !enrich.ValidToken(token) {
		token = nil
	}
	return campaign, token, true
}

// parseClickPath splits "/c/{campaign}/{token}" and "/c/{campaign}" (an
// anonymous click). tokenOK is false for a token that is present but
// invalid: such a click is refused, not counted anonymous, since its link
// was not what the sender generated.
func parseClickPath(p []byte) (campaign, token []byte, ok bool) {
	rest, found := bytes.CutPrefix(p, []byte("/c/"))
	if !found {
		return nil, nil, false
	}
	campaign, token, hasToken := bytes.Cut(rest, []byte("/"))
	if !validCampaignID(campaign) || hasToken && !enrich.ValidToken(token) {
		return nil, nil, false
	}
	return campaign, token, true
}

// parseClickQuery reads u (the target URL, percent-decoded) and s (its
// signature) from a click's query string; the first occurrence wins.
func parseClickQuery(q []byte, sc *scratch) (target, sig string) {
	var seenU, seenS bool
	for len(q) > 0 {
		var pair []byte
		pair, q, _ = bytes.Cut(q, []byte("&"))
		key, val, _ := bytes.Cut(pair, []byte("="))
		switch {
		case len(key) == 1 && key[0] == 'u' && !seenU:
			seenU = true
			target = sc.queryValue(val)
		case len(key) == 1 && key[0] == 's' && !seenS:
			seenS = true
			sig = sc.queryValue(val)
		}
	}
	return target, sig
}

// email routes /o/ and /c/; it reports whether path was one of them.
func (s *Server) email(ctx *fasthttp.RequestCtx, path []byte, ip netip.Addr) bool {
	switch {
	case bytes.HasPrefix(path, []byte("/o/")) && (ctx.IsGet() || ctx.IsHead()):
		s.emailOpen(ctx, path, ip)
		return true
	case bytes.HasPrefix(path, []byte("/c/")) && (ctx.IsGet() || ctx.IsHead()):
		s.emailClick(ctx, path, ip)
		return true
	}
	return false
}

// emailOpen serves the open pixel. Like /p.gif it always answers the GIF
// (503 only when the spool refuses): an unknown or closed campaign, a bad
// token or a HEAD request store nothing but look the same to the client.
func (s *Server) emailOpen(ctx *fasthttp.RequestCtx, path []byte, ip netip.Addr) {
	status := fasthttp.StatusOK
	if ctx.IsGet() && s.emailOpenHit(ctx, path, ip) == failed {
		status = fasthttp.StatusServiceUnavailable
	}
	pixelResponse(ctx, status)
}

// emailOpenHit parses an open pixel's path, looks its campaign up and
// records the open. An unknown campaign stores nothing and is counted as
// suppressed.
func (s *Server) emailOpenHit(ctx *fasthttp.RequestCtx, path []byte, ip netip.Addr) outcome {
	campaign, token, ok := parseOpenPath(path)
	if !ok {
		s.stats.reject(reasonMalformed)
		return dropped
	}
	keys, known := s.campaigns().Lookup(enrich.UnsafeString(campaign))
	if !known {
		s.stats.suppressed[mote.SuppressCampaign].Add(1)
		return dropped
	}
	h := s.getHit(ip)
	defer s.putHit(h)
	return s.emailHit(ctx, h, &keys, token, mote.KindEmailOpen, "")
}

// emailClick verifies a click link and redirects to its target. Anything
// but a well-formed link of an open campaign with a valid signature over an
// http(s) URL is 400 and stores nothing: an unsigned redirect would be an
// open redirector for phishing. When the spool refuses the click the
// recipient is still sent on (their click matters more than the count),
// and the failure is counted as for any hit.
func (s *Server) emailClick(ctx *fasthttp.RequestCtx, path []byte, ip netip.Addr) {
	h := s.getHit(ip)
	defer s.putHit(h)
	campaign, token, ok := parseClickPath(path)
	if !ok {
		s.stats.reject(reasonMalformed)
		text(ctx, fasthttp.StatusBadRequest, bodyBadLink)
		return
	}
	target, sig := parseClickQuery(ctx.URI().QueryString(), &h.sc)
	keys, known := s.campaigns().Lookup(enrich.UnsafeString(campaign))
	if !known || keys.Wiped || !s.now().Before(keys.WindowEnd) ||
		len(target) > maxURLLen || !enrich.VerifyLink(&keys.Link, target, sig) || !redirectable(target) {
		s.stats.reject(reasonMalformed)
		text(ctx, fasthttp.StatusBadRequest, bodyBadLink)
		return
	}
	if ctx.IsGet() {
		s.emailHit(ctx, h, &keys, token, mote.KindEmailClick, target)
	}
	ctx.SetStatusCode(fasthttp.StatusFound)
	ctx.Response.Header.Set(fasthttp.HeaderLocation, target)
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	// The token is in this URL: the target must not see it as Referer.
	ctx.Response.Header.Set("Referrer-Policy", "no-referrer")
}

// redirectable reports whether target is an absolute http or https URL
// with a host, so that even a signed link cannot redirect to javascript:,
// data: or a relative path.
func redirectable(target string) bool {
	u, err := url.Parse(target)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// campaigns returns the configured campaign table, or one that knows none.
func (s *Server) campaigns() Campaigns {
	if s.cfg.Campaigns == nil {
		return noCampaigns{}
	}
	return s.cfg.Campaigns
}

type noCampaigns struct{}

func (noCampaigns) Lookup(string) (CampaignKeys, bool) { return CampaignKeys{}, false }

// emailHit records an open or a (verified) click of the campaign keys,
// which the caller parsed from the path and looked up once, with the
// recipient token (nil: anonymous). The gate for email: an unknown
// campaign (the caller's check) or a campaign of a site this collector
// does not serve stores nothing; a closed campaign, DNT or GPC (unless the
// site ignores them) store only the anonymous counter. A site's consent mode does not
// apply: consent to email tracking is the sender's to collect with the
// subscription, and the open pixel has no way to carry it. Machine
// fetches (image proxies, scanners, bots, prefetches) are stored with
// their verdict, not dropped.
func (s *Server) emailHit(ctx *fasthttp.RequestCtx, h *hit, keys *CampaignKeys, token []byte, kind mote.Kind, target string) outcome {
	site := s.sites[keys.SiteID]
	if site == nil {
		s.stats.reject(reasonUnknownSite)
		return dropped
	}
	now := s.now()
	hdr := &ctx.Request.Header
	reason := optedOut(hdr, &site.Site)
	if keys.Wiped || !now.Before(keys.WindowEnd) {
		reason = mote.SuppressCampaign
	}
	if reason != 0 {
		s.suppress(site.ID, reason, now)
		return dropped
	}

	// The full address decides the machine verdict and, truncated, the
	// country; then it is forgotten.
	ip := h.ip
	ua := enrich.UnsafeString(hdr.UserAgent())
	agent := s.agentOf(hdr)
	machine, why := enrich.DefaultMachineOpens().Verdict(ip, ua, agent.Bot, isPrefetch(hdr))
	// Email geo is country-level at most: a reader's city says more about
	// one person than a campaign report needs.
	loc := s.cfg.Geo.Lookup(ip, max(site.precision, enrich.PrecisionCountry))

	ev := &h.ev
	fillEvent(ev, site.ID, now, kind, &loc, &agent)
	ev.CampaignID = keys.ID
	if token != nil {
		ev.RecipientID = enrich.RecipientID(&keys.Recipient, token)
	}
	if machine {
		ev.MachineOpen = 1
		ev.MachineReason = why
	}
	ev.LinkURL = target
	return s.store(ev)
}

// bodyBadLink answers a click link that is not valid (shared read-only).
var bodyBadLink = []byte("invalid or expired link\n")
