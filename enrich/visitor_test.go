package enrich

import (
	"net/netip"
	"strings"
	"testing"
)

func TestVisitorID(t *testing.T) {
	s1, s2 := &[32]byte{1}, &[32]byte{2}
	ip := netip.MustParseAddr("203.0.113.7")
	const ua = "Mozilla/5.0 (Macintosh) Safari/605.1.15"
	base := VisitorID(s1, "demo", ip, ua)
	if base != VisitorID(s1, "demo", ip, ua) {
		t.Fatal("not deterministic")
	}
	if VisitorID(s1, "demo", netip.MustParseAddr("::ffff:203.0.113.7"), ua) != base {
		t.Fatal("an IPv4-mapped address is another visitor")
	}
	longUA := strings.Repeat("x", 5000)
	for name, other := range map[string]uint64{
		"salt":           VisitorID(s2, "demo", ip, ua),
		"site":           VisitorID(s1, "demo2", ip, ua),
		"ip":             VisitorID(s1, "demo", netip.MustParseAddr("203.0.113.8"), ua),
		"ua":             VisitorID(s1, "demo", ip, ua+" "),
		"boundary":       VisitorID(s1, "dem", ip, "o"+ua),
		"invalid ip":     VisitorID(s1, "demo", netip.Addr{}, ua),
		"long ua":        VisitorID(s1, "demo", ip, longUA),
		"long ua change": VisitorID(s1, "demo", ip, longUA[:4999]+"y"),
	} {
		if other == base {
			t.Errorf("changing the %s kept the ID", name)
		}
	}
	if a, b := VisitorID(s1, "demo", ip, longUA), VisitorID(s1, "demo", ip, strings.Clone(longUA)); a != b {
		t.Fatal("folded form not deterministic")
	}
	// Only the salt's fold matters to SipHash, but every byte of it must.
	for i := range 32 {
		s := *s1
		s[i] ^= 0x80
		if VisitorID(&s, "demo", ip, ua) == base {
			t.Errorf("salt byte %d does not change the ID", i)
		}
	}
}

func BenchmarkVisitorID(b *testing.B) {
	salt := &[32]byte{7}
	ip := netip.MustParseAddr("203.0.113.7")
	const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	b.ReportAllocs()
	for b.Loop() {
		VisitorID(salt, "demo", ip, ua)
	}
}
