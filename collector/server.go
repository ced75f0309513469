package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
)

// Sink receives accepted events, each with the session rows its hit
// produced (none, the new state, or the cancel of the previous state and
// the new state). Append returns only once the event and its rows are
// durable, together: a visit's rows are then exactly as durable as its
// hits. Any error means "not accepted" and the hit is answered 503. The
// Event, the rows and their strings are valid only during the call:
// Append copies what it keeps.
type Sink interface {
	Append(e *mote.Event, sessions ...*mote.SessionRow) error
}

// Server is the public beacon server. Create it with New, run it with
// Serve and stop it with Shutdown.
type Server struct {
	cfg    Config
	sink   Sink
	sites  map[string]*siteConf
	agents *enrich.AgentParser
	// liveness lets the salt keeper keep a visit that crosses midnight
	// under yesterday's visitor ID; nil without a session cache.
	liveness enrich.Liveness
	trusted  []netip.Prefix
	srv      *fasthttp.Server
	log      *slog.Logger
	hits     sync.Pool // *hit
	stats    counters
	js       *script      // GET /m.js; nil answers 404
	limiter  *rateLimiter // nil: no rate limit
	conns    *connCap     // nil: no cap on connections per address

	// lastSinkLog rate-limits the Sink failure log (unix seconds): when
	// the spool is full every hit fails, and one line a second says it.
	lastSinkLog atomic.Int64

	mu     sync.Mutex
	closed bool
	lns    []net.Listener
}

// siteConf is a configured site with what the hit path derives from it
// once, at New, rather than on every hit.
type siteConf struct {
	mote.Site
	precision enrich.Precision
	urls      enrich.URLOptions
}

// hit is the per-request scratch, pooled so that a request allocates
// nothing once the pool is warm.
type hit struct {
	sc      scratch
	beacon  beacon
	ev      mote.Event
	page    enrich.Page
	session enrich.SessionUpdate
	rows    [2]*mote.SessionRow // the update's rows, handed to the Sink
	ip      netip.Addr          // the client address, for enrichment only
}

// New validates cfg and returns a Server that hands accepted events to sink.
func New(cfg Config, sink Sink) (*Server, error) {
	if sink == nil {
		return nil, errors.New("new collector: nil sink")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new collector: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		sink:   sink,
		sites:  make(map[string]*siteConf, len(cfg.Sites)),
		agents: cfg.Agents,
		log:    cfg.Logger,
	}
	if s.agents == nil {
		s.agents = enrich.NewAgentParser(enrich.AgentConfig{})
	}
	if cfg.Sessions != nil {
		s.liveness = cfg.Sessions
	}
	for i := range cfg.Sites {
		site := &siteConf{Site: cfg.Sites[i]}
		site.urls = enrich.URLOptions{HashRouting: site.HashRouting, KeepKeys: site.QueryKeys}
		site.Hostnames = append([]string(nil), site.Hostnames...)
		if site.GeoPrecision != "" {
			if site.precision, err = enrich.ParsePrecision(site.GeoPrecision); err != nil {
				return nil, fmt.Errorf("new collector: site %q: %w", site.ID, err)
			}
		}
		s.sites[site.ID] = site
	}
	for _, p := range cfg.TrustedProxies {
		// Addresses are unmapped before matching, so unmap prefixes too.
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		s.trusted = append(s.trusted, p.Masked())
	}
	if s.js, err = newScript(cfg.Script); err != nil {
		return nil, fmt.Errorf("new collector: %w", err)
	}
	s.limiter = newRateLimiter(cfg.RateLimit, cfg.RateBurst)
	if cfg.MaxConnsPerIP > 0 {
		s.conns = newConnCap(cfg.MaxConnsPerIP, cfg.Logger)
	}
	s.hits.New = func() any {
		return &hit{sc: scratch{buf: make([]byte, 0, 4<<10)}}
	}
	s.srv = &fasthttp.Server{
		Handler:            s.handle,
		ErrorHandler:       s.handleError,
		Name:               "",
		ReadBufferSize:     cfg.ReadBufferSize,
		ReadTimeout:        cfg.ReadTimeout,
		WriteTimeout:       cfg.WriteTimeout,
		IdleTimeout:        cfg.IdleTimeout,
		MaxRequestBodySize: cfg.MaxBodyBytes,
		// No endpoint takes a form; never spool multipart bodies to
		// temporary files.
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		SecureErrorLogMessage:        true,
		Logger:                       httpLogger{log: cfg.Logger},
	}
	return s, nil
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown and the accept error otherwise. Serve may be called for several
// listeners at once.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return errors.New("serve collector: server is shut down")
	}
	if s.conns != nil {
		ln = s.conns.wrap(ln)
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()

	err := s.srv.Serve(sniffListener{Listener: ln, onRefuse: func() {
		s.stats.received.Add(1)
		s.stats.reject(reasonBadFraming)
	}})
	if s.isClosed() {
		return nil
	}
	if err != nil {
		return fmt.Errorf("serve collector: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits, until ctx is done, for
// requests in flight to finish; idle keep-alive connections are closed.
// Every hit answered before Shutdown returns has been through the Sink.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	lns := s.lns
	s.lns = nil
	s.mu.Unlock()
	// Close the listeners ourselves too: fasthttp only knows the ones
	// whose Serve got far enough to register them.
	for _, ln := range lns {
		ln.Close()
	}
	err := s.srv.ShutdownWithContext(ctx)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("shutdown collector: %w", err)
	}
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Counters returns the current counters.
func (s *Server) Counters() Counters { return s.stats.snapshot() }

// handle routes one request. Everything not listed is 404.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	s.stats.received.Add(1)
	if !framingOK(ctx.Request.Header.RawHeaders()) {
		s.stats.reject(reasonBadFraming)
		ctx.SetConnectionClose()
		text(ctx, fasthttp.StatusBadRequest, bodyBadRequest)
		return
	}
	path := ctx.Path()
	// The client address is read once per hit, here: the rate limit keys
	// on its network, and enrichment uses it before forgetting it.
	var ip netip.Addr
	if !exemptFromLimits(path) {
		if s.uriTooLong(ctx) {
			return
		}
		ip = clientAddr(s.trusted, peerAddr(ctx.RemoteIP()), &ctx.Request.Header)
		if s.rateLimited(ctx, ip) {
			return
		}
	}
	switch string(path) {
	case "/p.gif":
		if ctx.IsGet() || ctx.IsHead() {
			s.pixel(ctx, ip)
			return
		}
	case "/api/event":
		switch {
		case ctx.IsPost():
			s.event(ctx, ip)
			return
		case ctx.IsOptions():
			s.preflight(ctx)
			return
		}
	case "/m.js":
		if ctx.IsGet() || ctx.IsHead() {
			s.script(ctx)
			return
		}
	case "/healthz":
		if ctx.IsGet() || ctx.IsHead() {
			text(ctx, fasthttp.StatusOK, bodyOK)
			return
		}
	case "/readyz":
		if ctx.IsGet() || ctx.IsHead() {
			if s.cfg.Ready == nil || s.cfg.Ready() {
				text(ctx, fasthttp.StatusOK, bodyOK)
				if s.cfg.Degraded != nil {
					if note := s.cfg.Degraded(); note != "" {
						ctx.Response.SetBodyString(string(bodyOK) + "degraded: " + note + "\n")
					}
				}
			} else {
				text(ctx, fasthttp.StatusServiceUnavailable, bodyNotReady)
			}
			return
		}
	default:
		if s.email(ctx, path, ip) {
			return
		}
	}
	s.stats.reject(reasonNotFound)
	text(ctx, fasthttp.StatusNotFound, bodyNotFound)
}

// handleError answers requests fasthttp could not read: too large, too
// slow or not HTTP. The error itself may quote the request, so it is not
// logged.
func (s *Server) handleError(ctx *fasthttp.RequestCtx, err error) {
	s.stats.received.Add(1)
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.stats.reject(reasonTooLarge)
		text(ctx, fasthttp.StatusRequestEntityTooLarge, bodyTooLarge)
	case errors.As(err, &small):
		s.stats.reject(reasonTooLarge)
		text(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, bodyHeaderSize)
	case errors.As(err, &netErr) && netErr.Timeout():
		s.stats.reject(reasonMalformed)
		text(ctx, fasthttp.StatusRequestTimeout, bodyTimeout)
	default:
		s.stats.reject(reasonMalformed)
		text(ctx, fasthttp.StatusBadRequest, bodyBadRequest)
	}
}

func (s *Server) getHit(ip netip.Addr) *hit {
	h := s.hits.Get().(*hit)
	h.ip = ip
	h.sc.reset()
	h.beacon.reset()
	h.ev.Reset()
	return h
}

// putHit returns h to the pool once the handler is done with it. A
// scratch that grew past 64 KiB (a hostile body) is dropped rather than
// kept alive by the pool.
func (s *Server) putHit(h *hit) {
	if cap(h.sc.buf) > 64<<10 {
		return
	}
	s.hits.Put(h)
}

// now returns the server receive time in UTC.
func (s *Server) now() time.Time { return s.cfg.Now().UTC() }

// httpLogger passes fasthttp's own messages to slog. Only the format
// string is kept: fasthttp's arguments name the remote address.
type httpLogger struct{ log *slog.Logger }

func (l httpLogger) Printf(format string, _ ...any) {
	l.log.Debug("collector: http server", "what", format)
}
