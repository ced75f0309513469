package collector

import (
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
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

// TestVisitorAndSession: the same address and user agent get one visitor
// ID and one visit, whose rows reach the session sink; another user agent
// is another visitor.
func TestVisitorAndSession(t *testing.T) {
	cfg := testConfig()
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg.Visitors = enrich.NewSaltKeeper(enrich.SaltConfig{Now: cfg.Now})
	cfg.Sessions = enrich.NewSessions(enrich.SessionConfig{})
	ts := startServer(t, cfg)
	const xff = "X-Forwarded-For: 198.51.100.23\r\n"
	ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2Fa", xff))
	ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2Fb", xff))
	ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2Fa", xff, "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\n"))
	got := ts.sink.stored()
	if len(got) != 3 {
		t.Fatalf("stored %d events, want 3", len(got))
	}
	if got[0].VisitorID == 0 || got[0].VisitorID != got[1].VisitorID {
		t.Errorf("same visitor got IDs %x and %x", got[0].VisitorID, got[1].VisitorID)
	}
	if got[2].VisitorID == got[0].VisitorID {
		t.Error("another user agent got the same visitor ID")
	}
	if got[0].SessionID == 0 || got[0].SessionID != got[1].SessionID || got[2].SessionID == got[0].SessionID {
		t.Errorf("session IDs %x %x %x: want the first two equal and the third different", got[0].SessionID, got[1].SessionID, got[2].SessionID)
	}
	ts.sink.mu.Lock()
	defer ts.sink.mu.Unlock()
	if ts.sink.updates != 3 || ts.sink.cancels != 1 {
		t.Errorf("sink saw %d session updates with %d cancels, want 3 and 1", ts.sink.updates, ts.sink.cancels)
	}
	if st := ts.sink.lastState; st.SessionID != got[2].SessionID || st.Pageviews != 1 || st.Sign != 1 {
		t.Errorf("latest state row %+v does not match the third hit", st)
	}
}

// TestStoredURLsAreMinimised sends PII-laden page URLs and checks that
// the stored path holds no e-mail address, no key outside the allow-list
// and no fragment, and that the campaign values land in their columns.
func TestStoredURLsAreMinimised(t *testing.T) {
	cfg := testConfig()
	cfg.Sites[0].QueryKeys = []string{"q"}
	ts := startServer(t, cfg)
	pages := []string{
		"https://example.com/users/jane.doe@example.org/settings?session_id=8f14e45fceea167a&utm_source=newsletter&utm_campaign=spring#access_token=abc",
		"https://example.com/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U?email=jane%40example.org",
		"https://example.com/search?q=shoes&uid=42&ref=hn",
	}
	for _, p := range pages {
		ts.do(t, get("/p.gif?s=demo&u="+url.QueryEscape(p)))
	}
	got := ts.sink.stored()
	if len(got) != len(pages) {
		t.Fatalf("stored %d events, want %d", len(got), len(pages))
	}
	for _, e := range got {
		for _, bad := range []string{"@", "%40", "jane", "session_id", "8f14e45fceea167a", "#", "access_token", "eyJ", "email=", "uid"} {
			if strings.Contains(e.Pathname, bad) {
				t.Errorf("stored path %q holds %q", e.Pathname, bad)
			}
		}
	}
	if got[0].UTMSource != "newsletter" || got[0].UTMCampaign != "spring" {
		t.Errorf("utm values %q %q", got[0].UTMSource, got[0].UTMCampaign)
	}
	if want := "/search?q=shoes&ref=hn"; got[2].Pathname != want {
		t.Errorf("allow-listed keys: path %q, want %q", got[2].Pathname, want)
	}
}
