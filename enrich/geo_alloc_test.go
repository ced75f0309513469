//go:build !race

package enrich

import (
	"net/netip"
	"testing"
)

// The hit path allocates nothing once the caches are warm (the race
// detector drops sync.Pool items, hence the build tag).
func TestAgentGeoSteadyStateAllocs(t *testing.T) {
	g, _ := openTestGeo(t, GeoConfig{})
	p := NewAgentParser(AgentConfig{})
	hits := realisticHits(t, 1024)
	run := func() {
		for i := range hits {
			h := &hits[i]
			if !p.Parse(h.ua, h.ch).Bot {
				g.Lookup(h.ip, PrecisionCity)
			}
			IsBot(h.ua)
		}
	}
	run() // warm up
	if allocs := testing.AllocsPerRun(20, run); allocs != 0 {
		t.Errorf("%v allocations per %d warm hits, want 0", allocs, len(hits))
	}
	// A Lookup of a network not in the database is cached too.
	ip := netip.MustParseAddr("10.1.2.3")
	g.Lookup(ip, PrecisionCity)
	if allocs := testing.AllocsPerRun(100, func() { g.Lookup(ip, PrecisionRegion) }); allocs != 0 {
		t.Errorf("cached miss allocates %v times", allocs)
	}
}
