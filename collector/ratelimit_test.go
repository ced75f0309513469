package collector

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// fakeClock drives a limiter's clock by hand.
type fakeClock struct{ ns int64 }

func (c *fakeClock) now() int64              { return c.ns }
func (c *fakeClock) advance(d time.Duration) { c.ns += int64(d) }

func testLimiter(rate float64, burst int) (*rateLimiter, *fakeClock) {
	l := newRateLimiter(rate, burst)
	clk := &fakeClock{ns: 1}
	l.now = clk.now
	return l, clk
}

func TestRateLimiterBucket(t *testing.T) {
	l, clk := testLimiter(2, 3) // 2/s, bursts of 3
	a := netip.MustParseAddr("198.51.100.7")
	allowed := func(ip netip.Addr, n int) int {
		got := 0
		for range n {
			if l.allow(ip) {
				got++
			}
		}
		return got
	}
	if got := allowed(a, 10); got != 3 {
		t.Fatalf("burst: %d of 10 allowed, want 3", got)
	}
	clk.advance(500 * time.Millisecond) // one token back
	if got := allowed(a, 10); got != 1 {
		t.Fatalf("after 0.5s: %d allowed, want 1", got)
	}
	clk.advance(time.Hour) // refills to the burst, not beyond
	if got := allowed(a, 10); got != 3 {
		t.Fatalf("after an hour: %d allowed, want 3 (the burst)", got)
	}
}

// TestRateLimiterKeysOnNetwork: the bucket belongs to the /24 or /48, so
// rotating through neighbouring addresses gains nothing, while another
// network has its own bucket.
func TestRateLimiterKeysOnNetwork(t *testing.T) {
	tests := []struct {
		name       string
		first, sec string
		shared     bool
	}{
		{"same /24", "198.51.100.7", "198.51.100.200", true},
		{"neighbouring /24", "198.51.100.7", "198.51.101.7", false},
		{"mapped IPv4 is IPv4", "198.51.100.7", "::ffff:198.51.100.9", true},
		{"same /48", "2001:db8:1::1", "2001:db8:1:ffff::2", true},
		{"neighbouring /48", "2001:db8:1::1", "2001:db8:2::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := testLimiter(1, 1)
			if !l.allow(netip.MustParseAddr(tt.first)) {
				t.Fatal("first request refused")
			}
			if got := l.allow(netip.MustParseAddr(tt.sec)); got == tt.shared {
				t.Fatalf("second address allowed=%v, want shared bucket=%v", got, tt.shared)
			}
		})
	}
}

// TestRateLimiterStoresOnlyPrefix: the table holds the truncated network,
// never the address (privacy invariant 1 covers memory we could dump too).
func TestRateLimiterStoresOnlyPrefix(t *testing.T) {
	l, _ := testLimiter(1, 1)
	l.allow(netip.MustParseAddr("198.51.100.77"))
	l.allow(netip.MustParseAddr("2001:db8:1:2:3:4:5:6"))
	want := map[netip.Prefix]bool{
		netip.MustParsePrefix("198.51.100.0/24"): true,
		netip.MustParsePrefix("2001:db8:1::/48"): true,
	}
	var got []netip.Prefix
	for i := range l.sets {
		for _, b := range l.sets[i].slots {
			if b.last == 0 {
				continue
			}
			a := netip.AddrFrom16(b.net)
			if a.Is4In6() {
				a = a.Unmap()
			}
			got = append(got, netip.PrefixFrom(a, int(b.bits)))
		}
	}
	if len(got) != 2 {
		t.Fatalf("buckets %v, want 2", got)
	}
	for _, p := range got {
		if !want[p] || p.Masked() != p {
			t.Fatalf("bucket key %v is not a truncated network", p)
		}
	}
}

// TestRateLimiterBoundedMemory floods the table with far more networks
// than it has slots: its size never changes, and a network that keeps
// sending keeps its (empty) bucket, so the flood does not reset it.
func TestRateLimiterBoundedMemory(t *testing.T) {
	l, clk := testLimiter(1, 1)
	busy := netip.MustParseAddr("192.0.2.1")
	l.allow(busy)
	for i := range 4 * rateSets * rateWays {
		a := netip.AddrFrom4([4]byte{byte(11 + i>>16), byte(i >> 8), byte(i), 1})
		l.allow(a)
		if i%64 == 0 {
			clk.advance(time.Microsecond)
			if l.allow(busy) {
				t.Fatalf("busy network got a fresh bucket after %d other networks", i)
			}
		}
	}
	if len(l.sets) != rateSets {
		t.Fatalf("table grew to %d sets", len(l.sets))
	}
}

func TestRateLimitedRequestsGet429(t *testing.T) {
	cfg := testConfig()
	cfg.RateLimit = 0.001 // no refill during the test
	cfg.RateBurst = 2
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	ts := startServer(t, cfg)
	hit := get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F", "X-Forwarded-For: 203.0.113.9\r\n")
	for i := range 2 {
		if s := ts.do(t, hit).StatusCode(); s != 200 {
			t.Fatalf("hit %d: status %d, want 200", i, s)
		}
	}
	resp := ts.do(t, hit)
	if resp.StatusCode() != 429 || string(resp.Header.Peek("Retry-After")) != "1" {
		t.Fatalf("third hit: %d Retry-After %q, want 429 and 1", resp.StatusCode(), resp.Header.Peek("Retry-After"))
	}
	if s := ts.do(t, post(`{"s":"demo","u":"https://example.com/"}`, "Content-Type: application/json\r\nX-Forwarded-For: 203.0.113.10\r\n")).StatusCode(); s != 429 {
		t.Fatalf("beacon from the same /24: status %d, want 429", s)
	}
	// Another network behind the same trusted proxy has its own bucket.
	if s := ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F", "X-Forwarded-For: 198.51.100.1\r\n")).StatusCode(); s != 200 {
		t.Fatalf("other network: status %d, want 200", s)
	}
	// Health checks are never limited.
	if s := ts.do(t, get("/healthz", "X-Forwarded-For: 203.0.113.9\r\n")).StatusCode(); s != 200 {
		t.Fatalf("healthz: status %d", s)
	}
	st := ts.Counters()
	if st.RateLimited != 2 || st.Reasons()["rate_limited"] != 2 || st.Rejected() != 2 || st.Accepted != 3 {
		t.Fatalf("stats %+v", st)
	}
	if n := len(ts.sink.stored()); n != 3 {
		t.Fatalf("stored %d, want 3", n)
	}
}

func TestRateLimitOffByDefault(t *testing.T) {
	ts := startServer(t, testConfig())
	if ts.limiter != nil {
		t.Fatal("a limiter without RateLimit")
	}
	for i := range 50 {
		if s := ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F")).StatusCode(); s != 200 {
			t.Fatalf("hit %d: status %d", i, s)
		}
	}
}

func TestURITooLong(t *testing.T) {
	cfg := testConfig()
	cfg.MaxURLBytes = 1024
	ts := startServer(t, cfg)
	long := "/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F" + strings.Repeat("a", 1024)
	if s := ts.do(t, get(long)).StatusCode(); s != fasthttp.StatusRequestURITooLong {
		t.Fatalf("status %d, want 414", s)
	}
	if s := ts.do(t, get(long[:1000])).StatusCode(); s != 200 {
		t.Fatalf("status %d under the cap, want 200", s)
	}
	if st := ts.Counters(); st.TooLarge != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
	if n := len(ts.sink.stored()); n != 1 {
		t.Fatalf("stored %d, want 1", n)
	}
}

// TestMaxConnsPerIP holds connections open from loopback: the one over the
// cap is answered and closed at once while the others still work.
func TestMaxConnsPerIP(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnsPerIP = 2
	ts := startServer(t, cfg)
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// fasthttp counts a connection once accepted; a request on each makes
	// sure both are.
	for _, c := range held {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		var resp fasthttp.Response
		if err := resp.Read(bufio.NewReader(c)); err != nil || resp.StatusCode() != 200 {
			t.Fatalf("held connection: %v %d", err, resp.StatusCode())
		}
	}
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	var resp fasthttp.Response
	err = resp.Read(bufio.NewReader(c))
	if err == nil && resp.StatusCode() == 200 {
		t.Fatal("third connection from one address was served")
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("third connection left hanging instead of refused")
	}
}

func TestLimitsValidated(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"negative rate":  func(c *Config) { c.RateLimit = -1 },
		"negative burst": func(c *Config) { c.RateLimit = 1; c.RateBurst = -1 },
		"negative url":   func(c *Config) { c.MaxURLBytes = -1 },
		"negative conns": func(c *Config) { c.MaxConnsPerIP = -1 },
	} {
		cfg := testConfig()
		mod(&cfg)
		if _, err := New(cfg, &recordingSink{}); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	cfg := testConfig()
	cfg.RateLimit = 10
	s, err := New(cfg, &recordingSink{})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.RateBurst != 20 || s.cfg.MaxConnsPerIP != 0 || s.cfg.MaxURLBytes != DefaultMaxURLBytes {
		t.Fatalf("defaults: burst %d conns %d url %d", s.cfg.RateBurst, s.cfg.MaxConnsPerIP, s.cfg.MaxURLBytes)
	}
}
