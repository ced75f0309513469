//go:build !race

package collector

import (
	"net/netip"
	"testing"
)

// benchOpen is an open of a campaign with a recipient token, forwarded by
// a trusted proxy, as Apple Mail on a Mac sends it.
const benchOpen = "GET /o/spring/sub-8f3a2c.gif HTTP/1.1\r\n" +
	"Host: collector.test\r\n" +
	"User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)\r\n" +
	"Accept: image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5\r\n" +
	"X-Forwarded-For: 203.0.113.9, 10.0.0.2\r\n\r\n"

func openServer(t testing.TB) (*Server, *copyingSink) {
	cfg := testConfig()
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cfg.Campaigns = testCampaigns()
	sink := &copyingSink{}
	s, err := New(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	return s, sink
}

// TestEmailOpenZeroAllocs guards the /o/ path like the pixel's: once warm,
// an open (routed, parsed, looked up, verdict, hashed, spooled, answered)
// allocates nothing.
func TestEmailOpenZeroAllocs(t *testing.T) {
	s, sink := openServer(t)
	h := newHandlerCtx(benchOpen, netip.MustParseAddr("10.1.2.3"))
	run := func() {
		if err := h.serve(s); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		run()
	}
	allocs := testing.AllocsPerRun(200, run)
	if got := h.ctx.Response.StatusCode(); got != 200 {
		t.Fatalf("status %d", got)
	}
	if sink.n < 200 {
		t.Fatalf("sink saw %d opens, want every run stored", sink.n)
	}
	if allocs != 0 {
		t.Fatalf("an open allocates %v times, want 0", allocs)
	}
}

func BenchmarkEmailOpen(b *testing.B) {
	s, sink := openServer(b)
	h := newHandlerCtx(benchOpen, netip.MustParseAddr("10.1.2.3"))
	b.ReportAllocs()
	b.SetBytes(int64(len(benchOpen)))
	for b.Loop() {
		if err := h.serve(s); err != nil {
			b.Fatal(err)
		}
	}
	if sink.n == 0 {
		b.Fatal("nothing stored")
	}
}
