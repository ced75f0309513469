package enrich

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/mote-analytics/mote/internal/testenv"
)

// benchHit is the part of a request the agent and geo steps read.
type benchHit struct {
	ua string
	ch ClientHints
	ip netip.Addr
}

// realisticHits builds n hits from ~50 user agents (browsers with and
// without client hints, a few bots) and addresses in 200 networks (180
// IPv4 /24s, 20 IPv6 /48s), each hit with its own random host part, the
// way one site's traffic looks over a few minutes.
func realisticHits(tb testing.TB, n int) []benchHit {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	const chrome = `"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"`
	const edge = `"Chromium";v="124", "Microsoft Edge";v="124", "Not-A.Brand";v="99"`
	type agent struct {
		ua string
		ch ClientHints
	}
	agents := []agent{
		{uaChromeWin, ClientHints{chrome, "?0", `"Windows"`, `"15.0.0"`}},
		{uaChromeWin, ClientHints{chrome, "?0", `"Windows"`, `"10.0.0"`}},
		{uaChromeWin, ClientHints{chrome, "?0", `"Windows"`, ""}},
		{uaEdgeWin, ClientHints{edge, "?0", `"Windows"`, `"15.0.0"`}},
		{uaChromeMac, ClientHints{chrome, "?0", `"macOS"`, `"14.4.1"`}},
		{uaChromeAndr, ClientHints{chrome, "?1", `"Android"`, `"14.0.0"`}},
		{uaChromeTab, ClientHints{chrome, "?0", `"Android"`, `"13.0.0"`}},
		{uaChromeLinux, ClientHints{chrome, "?0", `"Linux"`, ""}},
		{uaChromeOS, ClientHints{chrome, "?0", `"Chrome OS"`, ""}},
	}
	for ua := range botCorpus(tb) { // ~80 agents, bots included
		agents = append(agents, agent{ua: ua})
		if len(agents) >= 50 {
			break
		}
	}
	var nets []netip.Prefix
	for len(nets) < 180 {
		a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0})
		if !a.IsPrivate() && !a.IsLoopback() {
			nets = append(nets, netip.PrefixFrom(a, 24))
		}
	}
	for len(nets) < 200 {
		var b [16]byte
		b[0], b[1] = 0x2a, byte(rng.IntN(16))
		b[2], b[3], b[4], b[5] = byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))
		nets = append(nets, netip.PrefixFrom(netip.AddrFrom16(b), 48))
	}
	hits := make([]benchHit, n)
	for i := range hits {
		a := agents[rng.IntN(len(agents))]
		p := nets[rng.IntN(len(nets))]
		b := p.Addr().As16()
		if p.Addr().Is4() {
			v4 := p.Addr().As4()
			v4[3] = byte(rng.IntN(256))
			hits[i] = benchHit{a.ua, a.ch, netip.AddrFrom4(v4)}
			continue
		}
		for j := 6; j < 16; j++ {
			b[j] = byte(rng.IntN(256))
		}
		hits[i] = benchHit{a.ua, a.ch, netip.AddrFrom16(b)}
	}
	return hits
}

// BenchmarkEnrichAgentGeo measures the agent + bot + geo steps of a hit in
// steady state (caches warm) on the real GeoLite2 City database.
func BenchmarkEnrichAgentGeo(b *testing.B) {
	g, err := OpenGeo(testenv.GeoLite2City(b), GeoConfig{})
	if err != nil {
		b.Fatal(err)
	}
	p := NewAgentParser(AgentConfig{})
	hits := realisticHits(b, 1<<14)
	var sink Location
	for _, h := range hits { // warm the caches
		if !p.Parse(h.ua, h.ch).Bot {
			sink = g.Lookup(h.ip, PrecisionCity)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		h := &hits[i&(len(hits)-1)]
		if !p.Parse(h.ua, h.ch).Bot {
			sink = g.Lookup(h.ip, PrecisionCity)
		}
	}
	_ = sink
}

// BenchmarkEnrichAgentGeoCold is the same traffic with caches too small to
// hold it: the cost of a miss (a useragent parse, the bot patterns, a
// GeoIP decode), which new visitors pay once per agent and network.
func BenchmarkEnrichAgentGeoCold(b *testing.B) {
	g, err := OpenGeo(testenv.GeoLite2City(b), GeoConfig{CacheSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	p := NewAgentParser(AgentConfig{CacheSize: 1})
	hits := realisticHits(b, 1<<14)
	var sink Location
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		h := &hits[i&(len(hits)-1)]
		if !p.Parse(h.ua, h.ch).Bot {
			sink = g.Lookup(h.ip, PrecisionCity)
		}
	}
	_ = sink
}
