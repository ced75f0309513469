// Allocation counts are only meaningful without the race detector.

//go:build !race

package collector

import (
	"net/netip"
	"testing"
)

// TestRateLimitZeroAllocs: with the limit on, an allowed hit still
// allocates nothing, and neither does a refused one (a flood must not
// make the garbage collector work for it).
func TestRateLimitZeroAllocs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rate   float64
		status int
	}{
		{"allowed", 1e9, 200},
		{"refused", 1e-9, 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := allocServer(t)
			s.limiter = newRateLimiter(tc.rate, 1)
			h := newHandlerCtx(benchPixel, netip.MustParseAddr("10.1.2.3"))
			run := func() {
				if err := h.serve(s); err != nil {
					t.Fatal(err)
				}
			}
			for range 10 {
				run()
			}
			allocs := testing.AllocsPerRun(200, run)
			if got := h.ctx.Response.StatusCode(); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			if allocs != 0 {
				t.Fatalf("%s hit allocates %v times, want 0", tc.name, allocs)
			}
		})
	}
}

func BenchmarkRateLimiterAllow(b *testing.B) {
	l := newRateLimiter(1e9, 1<<30)
	addrs := make([]netip.Addr, 4096)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{198, byte(i >> 8), byte(i), 7})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.allow(addrs[i&4095])
		i++
	}
}
