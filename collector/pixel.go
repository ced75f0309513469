package collector

import (
	"net/netip"

	"github.com/valyala/fasthttp"

	"github.com/mote-analytics/mote"
)

// pixel serves GET /p.gif, the no-JS pageview. It always answers the GIF,
// stored or not (an <img> has no use for an error, and a page must not be
// able to tell whether its hit counted); only a Sink failure changes the
// status, to 503, so that monitoring sees back-pressure. A HEAD request
// gets the same answer and stores nothing: link checkers and prefetchers
// send HEAD, visitors do not.
func (s *Server) pixel(ctx *fasthttp.RequestCtx, ip netip.Addr) {
	status := fasthttp.StatusOK
	if ctx.IsGet() {
		h := s.getHit(ip)
		if s.pixelHit(ctx, h) == failed {
			status = fasthttp.StatusServiceUnavailable
		}
		s.putHit(h)
	}
	pixelResponse(ctx, status)
}

func (s *Server) pixelHit(ctx *fasthttp.RequestCtx, h *hit) outcome {
	b := &h.beacon
	if !parsePixelQuery(ctx.URI().QueryString(), &h.sc, b) {
		s.stats.reject(reasonMalformed)
		return dropped
	}
	if b.url == "" {
		// An <img> without u= still tells its page through Referer,
		// though browsers often cut it to the origin.
		b.url = mote.Truncate(h.sc.validString(ctx.Request.Header.Referer()), maxURLLen)
	}
	return s.record(ctx, h, mote.KindPageview)
}
