package collector

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/mote-analytics/mote/enrich"
)

// The rate limit is a token bucket per client network: the client address
// cut to its /24 (IPv4) or /48 (IPv6), the same truncation geo uses. A
// network rather than an address, because one host of a hostile /24 or
// /48 can rotate through its neighbours' addresses for free; the cost is
// that a large NAT shares one bucket, which is why the limit is off by
// default and meant to be generous (it stops floods, not visitors).
//
// Memory is fixed whatever the traffic: the buckets live in a
// set-associative table (a hash of the network picks a set of
// rateWays slots; a network not in its set takes the slot seen least
// recently). An attacker with more networks than slots only evicts idle
// buckets, and an evicted network comes back with a full burst, which is
// no worse than what it could send from a fresh network. The hash is
// keyed with a random seed, so nobody can aim collisions at another
// network's set. The key is the truncated prefix and it never leaves the
// table: nothing here is logged or exported except a counter.

// Answers of the limits, shared read-only like the others in responses.go.
var (
	bodyRateLimited = []byte("too many requests\n")
	bodyURITooLong  = []byte("request URI too long\n")
)

const (
	rateSets = 2048 // power of two
	rateWays = 16   // slots per set: 2048×16 = 32768 networks tracked
)

// rateLimiter is safe for concurrent use and does not allocate per call.
type rateLimiter struct {
	rate  float64 // tokens per second
	burst float64
	seed  maphash.Seed
	// now is the monotonic clock in nanoseconds; tests replace it.
	now  func() int64
	sets []rateSet
}

type rateSet struct {
	mu    sync.Mutex
	slots [rateWays]rateBucket
	_     [64]byte // keeps neighbouring sets' locks off one cache line
}

// rateBucket is one network's tokens. last is 0 for a free slot.
type rateBucket struct {
	net    [16]byte
	bits   uint8
	tokens float64
	last   int64 // nanoseconds on the limiter's clock
}

var monoStart = time.Now()

func monoNow() int64 { return int64(time.Since(monoStart)) + 1 }

// newRateLimiter returns a limiter allowing rate requests per second per
// network with bursts of burst, or nil when rate is 0 (no limit).
func newRateLimiter(rate float64, burst int) *rateLimiter {
	if rate <= 0 {
		return nil
	}
	return &rateLimiter{
		rate:  rate,
		burst: float64(burst),
		seed:  maphash.MakeSeed(),
		now:   monoNow,
		sets:  make([]rateSet, rateSets),
	}
}

// allow takes a token from ip's network and reports whether there was
// one. An invalid address (no socket peer, as in some tests) is allowed.
func (l *rateLimiter) allow(ip netip.Addr) bool {
	p := enrich.TruncateIP(ip, enrich.DefaultIPv4Bits, enrich.DefaultIPv6Bits)
	if !p.IsValid() {
		return true
	}
	key := p.Addr().As16()
	bits := uint8(p.Bits())
	h := maphash.Bytes(l.seed, key[:]) ^ uint64(bits)
	set := &l.sets[h&(rateSets-1)]
	now := l.now()

	set.mu.Lock()
	defer set.mu.Unlock()
	oldest := 0
	for i := range set.slots {
		b := &set.slots[i]
		if b.last != 0 && b.bits == bits && b.net == key {
			elapsed := float64(now-b.last) / float64(time.Second)
			b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
			b.last = now
			if b.tokens < 1 {
				return false
			}
			b.tokens--
			return true
		}
		if b.last < set.slots[oldest].last {
			oldest = i
		}
	}
	set.slots[oldest] = rateBucket{net: key, bits: bits, tokens: l.burst - 1, last: now}
	return true
}

// rateLimited reports whether the request must be refused by the rate
// limit, and if so answers it 429. It runs before any parsing of the
// request, on the client address (forwarding headers of trusted proxies
// included: behind a proxy the socket peer is the proxy).
func (s *Server) rateLimited(ctx *fasthttp.RequestCtx, ip netip.Addr) bool {
	if s.limiter == nil {
		return false
	}
	if s.limiter.allow(ip) {
		return false
	}
	s.stats.reject(reasonRateLimited)
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
	text(ctx, fasthttp.StatusTooManyRequests, bodyRateLimited)
	return true
}

// uriTooLong answers 414 for a request target over MaxURLBytes. Nothing
// Mote stores needs a long URL (page and referrer are capped at 4 KiB
// each), and refusing early keeps the parsers away from it.
func (s *Server) uriTooLong(ctx *fasthttp.RequestCtx) bool {
	if len(ctx.Request.Header.RequestURI()) <= s.cfg.MaxURLBytes {
		return false
	}
	s.stats.reject(reasonTooLarge)
	text(ctx, fasthttp.StatusRequestURITooLong, bodyURITooLong)
	return true
}

// exemptFromLimits lists the paths the rate limit and URL cap leave
// alone: health checks come from the operator's monitoring (often one
// address), and the script is cached by browsers and CDNs.
func exemptFromLimits(path []byte) bool {
	switch string(path) {
	case "/healthz", "/readyz", "/m.js":
		return true
	}
	return false
}
