package enrich

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/dchest/siphash"
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

// TestVisitorIDFoldThreshold: a message of visitorInline bytes is hashed
// inline, one byte more is folded (each form rebuilt here by hand).
func TestVisitorIDFoldThreshold(t *testing.T) {
	salt := &[32]byte{7, 8, 9}
	k0, k1 := saltKey(salt)
	ip := netip.MustParseAddr("203.0.113.7")
	ip16 := ip.As16()
	const site = "demo"
	inline := func(ua string) uint64 {
		b := []byte{tagInline}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(site)))
		b = append(b, site...)
		b = append(b, ip16[:]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(ua)))
		b = append(b, ua...)
		if len(b) > visitorInline {
			t.Fatalf("inline message of %d bytes", len(b))
		}
		return siphash.Hash(k0, k1, b)
	}
	folded := func(ua string) uint64 {
		b := []byte{tagFolded}
		b = binary.LittleEndian.AppendUint64(b, partHash(k0, k1, 's', site))
		b = append(b, ip16[:]...)
		b = binary.LittleEndian.AppendUint64(b, partHash(k0, k1, 'u', ua))
		return siphash.Hash(k0, k1, b)
	}
	fits := strings.Repeat("u", visitorInline-1-4-len(site)-16-4)
	if got, want := VisitorID(salt, site, ip, fits), inline(fits); got != want {
		t.Errorf("a message of exactly %d bytes: ID %x, want the inline %x", visitorInline, got, want)
	}
	if got, want := VisitorID(salt, site, ip, fits+"u"), folded(fits+"u"); got != want {
		t.Errorf("a message of %d bytes: ID %x, want the folded %x", visitorInline+1, got, want)
	}
}
