package collector

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/internal/testenv"
)

// TestHitIsEnriched drives hits through the server with a small GeoIP2
// City database and checks what reaches the Sink: the location of the
// truncated address at each site's precision, and the browser, OS and
// device from the user agent with client hints winning.
func TestHitIsEnriched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "City.mmdb")
	testenv.WriteMMDB(t, path, "GeoIP2-City", map[string]mmdbtype.Map{
		"203.0.113.0/24": testenv.GeoRecord("GB", "ENG", "London"),
	})
	geo, err := enrich.OpenGeo(path, enrich.GeoConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Geo = geo
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg.Sites = []mote.Site{
		{ID: "city", Hostnames: []string{"example.com"}},
		{ID: "region", Hostnames: []string{"example.com"}, GeoPrecision: "region"},
		{ID: "country", Hostnames: []string{"example.com"}, GeoPrecision: "country"},
		{ID: "none", Hostnames: []string{"example.com"}, GeoPrecision: "none"},
	}
	ts := startServer(t, cfg)
	const hints = "Sec-CH-UA: \"Chromium\";v=\"131\", \"Google Chrome\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n" +
		"Sec-CH-UA-Mobile: ?0\r\nSec-CH-UA-Platform: \"Windows\"\r\nSec-CH-UA-Platform-Version: \"15.0.0\"\r\n"
	// Only the /24 of this address is looked up (and cached).
	const xff = "X-Forwarded-For: 203.0.113.77\r\n"
	want := map[string][3]string{
		"city":    {"GB", "GB-ENG", "London"},
		"region":  {"GB", "GB-ENG", ""},
		"country": {"GB", "", ""},
		"none":    {"", "", ""},
	}
	for _, site := range []string{"city", "region", "country", "none"} {
		resp := ts.do(t, get("/p.gif?s="+site+"&u=https%3A%2F%2Fexample.com%2F", xff, hints, browserUA))
		if got := string(resp.Header.Peek("Accept-CH")); got != acceptCH {
			t.Errorf("Accept-CH %q, want %q", got, acceptCH)
		}
	}
	stored := ts.sink.stored()
	if len(stored) != 4 {
		t.Fatalf("stored %d events, want 4", len(stored))
	}
	for _, e := range stored {
		if got := [3]string{e.Country, e.Region, e.City}; got != want[e.SiteID] {
			t.Errorf("site %s: location %v, want %v", e.SiteID, got, want[e.SiteID])
		}
		// The UA string says Windows NT 10.0; the platform version hint
		// 15.0.0 is how Windows 11 identifies itself.
		if e.Browser != "Chrome" || e.BrowserVersion != "131" || e.OS != "Windows" || e.OSVersion != "11" || e.Device != "desktop" {
			t.Errorf("site %s: agent %q %q %q %q %q, want Chrome 131 Windows 11 desktop", e.SiteID, e.Browser, e.BrowserVersion, e.OS, e.OSVersion, e.Device)
		}
	}
}

// TestUnknownPrecisionRefused: a typo in a site's geo precision is a
// configuration error, not a silent city-level default.
func TestUnknownPrecisionRefused(t *testing.T) {
	cfg := testConfig()
	cfg.Sites[0].GeoPrecision = "street"
	if _, err := New(cfg, &recordingSink{}); err == nil {
		t.Fatal("precision street accepted")
	}
}
