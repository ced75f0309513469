//go:build !race

// Allocation guards: the race detector adds allocations, so these run
// without it.

package enrich

import (
	"net/netip"
	"strings"
	"testing"
)

func TestVisitorIDAllocs(t *testing.T) {
	salt := &[32]byte{7}
	ip := netip.MustParseAddr("2001:db8::1")
	ua, long := "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", strings.Repeat("u", 3000)
	allocs := testing.AllocsPerRun(200, func() {
		VisitorID(salt, "demo", ip, ua)
		VisitorID(salt, "demo", ip, long)
	})
	if allocs != 0 {
		t.Fatalf("VisitorID allocates %v times, want 0", allocs)
	}
}
