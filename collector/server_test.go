package collector

import (
	"bytes"
	"context"
	"image/gif"
	"net"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/valyala/fasthttp"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/internal/testenv"
)

func TestGIFIsValid(t *testing.T) {
	if len(gifBody) != 43 {
		t.Fatalf("gif is %d bytes, want 43", len(gifBody))
	}
	img, err := gif.Decode(bytes.NewReader(gifBody))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Fatalf("bounds %v, want 1x1", b)
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Fatalf("pixel alpha %d, want transparent", a)
	}
}

func TestPixelStoresPageview(t *testing.T) {
	ts := startServer(t, testConfig())
	resp := ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2FExample.com%2Fpricing%3Futm_source%3Dnews%23top&r=https%3A%2F%2Fwww.google.com%2Fsearch%3Fq%3Dsecret&w=1440"))
	if resp.StatusCode() != 200 || !bytes.Equal(resp.Body(), gifBody) {
		t.Fatalf("status %d body %q, want 200 and the GIF", resp.StatusCode(), resp.Body())
	}
	if ct := string(resp.Header.ContentType()); ct != "image/gif" {
		t.Errorf("content type %q", ct)
	}
	if cc := string(resp.Header.Peek("Cache-Control")); cc != "no-store" {
		t.Errorf("cache control %q", cc)
	}
	got := ts.sink.stored()
	if len(got) != 1 {
		t.Fatalf("stored %d events, want 1", len(got))
	}
	e := got[0]
	want := mote.Event{
		SiteID: "demo", TS: testNow.UTC(), Kind: mote.KindPageview,
		Hostname: "example.com", Pathname: "/pricing", ReferrerHost: "www.google.com", Screen: "desktop",
		ReferrerSource: "Google", Channel: "search", UTMSource: "news",
		Browser: "Chrome", BrowserVersion: "131", OS: "Windows", OSVersion: "10", Device: "desktop",
		PropKeys: []string{}, PropValues: []string{},
	}
	if !equalEvent(e, want) {
		t.Fatalf("stored %+v\nwant   %+v", e, want)
	}
	if e.TS.Location() != time.UTC {
		t.Errorf("ts location %v, want UTC", e.TS.Location())
	}
	if st := ts.Counters(); st.Received != 1 || st.Accepted != 1 || st.Rejected() != 0 {
		t.Errorf("stats %+v", st)
	}
}

func equalEvent(a, b mote.Event) bool {
	if !a.TS.Equal(b.TS) || !slices.Equal(a.PropKeys, b.PropKeys) || !slices.Equal(a.PropValues, b.PropValues) {
		return false
	}
	a.TS, b.TS = time.Time{}, time.Time{}
	a.PropKeys, a.PropValues, b.PropKeys, b.PropValues = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

func TestPixelRefererFallback(t *testing.T) {
	ts := startServer(t, testConfig())
	ts.do(t, get("/p.gif?s=demo", "Referer: https://blog.example.com/post?id=1\r\n"))
	got := ts.sink.stored()
	if len(got) != 1 || got[0].Hostname != "blog.example.com" || got[0].Pathname != "/post" || got[0].Screen != "" {
		t.Fatalf("stored %+v", got)
	}
}

func TestPixelNotStored(t *testing.T) {
	tests := []struct {
		name, target, header string
		stat                 func(Counters) uint64
	}{
		{"unknown site", "/p.gif?s=nope&u=https%3A%2F%2Fexample.com%2F", "", func(s Counters) uint64 { return s.UnknownSite }},
		{"wrong host", "/p.gif?s=demo&u=https%3A%2F%2Fevil.com%2F", "", func(s Counters) uint64 { return s.BadHostname }},
		{"other site's host", "/p.gif?s=other&u=https%3A%2F%2Fexample.com%2F", "", func(s Counters) uint64 { return s.BadHostname }},
		{"apex not in wildcard", "/p.gif?s=other&u=https%3A%2F%2Fx.other.org%2F", "", func(s Counters) uint64 { return s.BadHostname }},
		{"no page url", "/p.gif?s=demo", "", func(s Counters) uint64 { return s.BadHostname }},
		{"not a url", "/p.gif?s=demo&u=javascript%3Aalert(1)", "", func(s Counters) uint64 { return s.BadHostname }},
		{"no site", "/p.gif?u=https%3A%2F%2Fexample.com%2F", "", func(s Counters) uint64 { return s.Malformed }},
		{"no query", "/p.gif", "", func(s Counters) uint64 { return s.Malformed }},
		{"bad width", "/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F&w=wide", "", func(s Counters) uint64 { return s.Malformed }},
		{"huge width", "/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F&w=99999999", "", func(s Counters) uint64 { return s.Malformed }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, testConfig())
			resp := ts.do(t, get(tt.target, tt.header))
			if resp.StatusCode() != 200 || !bytes.Equal(resp.Body(), gifBody) {
				t.Fatalf("status %d body %q, want 200 and the GIF", resp.StatusCode(), resp.Body())
			}
			if n := len(ts.sink.stored()); n != 0 {
				t.Fatalf("stored %d events, want none", n)
			}
			st := ts.Counters()
			if tt.stat(st) != 1 || st.Rejected() != 1 || st.Accepted != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// countingSuppressor records what the gate reported.
type countingSuppressor struct {
	mu     sync.Mutex
	counts map[string]int // "site/reason/2006-01-02"
}

func (c *countingSuppressor) Suppress(site string, reason mote.SuppressReason, ts time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[site+"/"+reason.String()+"/"+ts.UTC().Format("2006-01-02")]++
}

func TestPrivacyGate(t *testing.T) {
	const pixel = "/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2Fa"
	const body = `{"s":"demo","u":"https://example.com/a"}`
	tests := []struct {
		name    string
		site    mote.Site
		request string
		reason  mote.SuppressReason // 0: stored
	}{
		{"plain pixel is stored", mote.Site{}, get(pixel), 0},
		{"DNT pixel", mote.Site{}, get(pixel, "DNT: 1\r\n"), mote.SuppressDNT},
		{"DNT beacon", mote.Site{}, post(body, "Content-Type: text/plain\r\n", "DNT: 1\r\n"), mote.SuppressDNT},
		{"DNT 0 is stored", mote.Site{}, get(pixel, "DNT: 0\r\n"), 0},
		{"GPC", mote.Site{}, get(pixel, "Sec-GPC: 1\r\n"), mote.SuppressGPC},
		{"DNT ignored by the site", mote.Site{IgnoreDNT: true}, get(pixel, "DNT: 1\r\nSec-GPC: 1\r\n"), 0},
		{"prefetch", mote.Site{}, get(pixel, "Sec-Purpose: prefetch;prerender\r\n"), mote.SuppressPrefetch},
		{"legacy prefetch", mote.Site{}, get(pixel, "Purpose: prefetch\r\n"), mote.SuppressPrefetch},
		{"consent required, none", mote.Site{Consent: mote.ConsentRequired}, get(pixel), mote.SuppressNoConsent},
		{"consent required, pixel c=1", mote.Site{Consent: mote.ConsentRequired}, get(pixel + "&c=1"), 0},
		{"consent required, beacon c:1", mote.Site{Consent: mote.ConsentRequired}, post(`{"s":"demo","u":"https://example.com/a","c":1}`), 0},
		{"consent given but DNT", mote.Site{Consent: mote.ConsentRequired}, get(pixel+"&c=1", "DNT: 1\r\n"), mote.SuppressDNT},
		{"crawler", mote.Site{}, get(pixel, "User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)\r\n"), mote.SuppressBot},
		{"headless browser", mote.Site{}, post(body, "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36\r\n"), mote.SuppressBot},
		{"no user agent", mote.Site{}, get(pixel, "User-Agent: \r\n"), mote.SuppressBot},
		{"referrer spam", mote.Site{}, get(pixel + "&r=https%3A%2F%2Fwww.1-best-seo.com%2F"), mote.SuppressSpam},
		{"HTTP library", mote.Site{}, get(pixel, "User-Agent: python-requests/2.31.0\r\n"), mote.SuppressBot},
	}
	var storedAnswer []byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Sites[0].Consent = tt.site.Consent
			cfg.Sites[0].IgnoreDNT = tt.site.IgnoreDNT
			sup := &countingSuppressor{}
			cfg.Suppressions = sup
			ts := startServer(t, cfg)
			resp := ts.do(t, tt.request)
			stored := ts.sink.stored()
			st := ts.Counters()
			if tt.reason == 0 {
				if len(stored) != 1 || len(sup.counts) != 0 {
					t.Fatalf("stored %d, suppressed %v; want stored once", len(stored), sup.counts)
				}
				if strings.HasPrefix(tt.request, "GET") {
					// A copy: Header() returns fasthttp's own buffer.
					storedAnswer = answerWithoutDate(resp)
				}
				return
			}
			if len(stored) != 0 {
				t.Fatalf("suppressed hit stored: %+v", stored)
			}
			key := "demo/" + tt.reason.String() + "/" + testNow.UTC().Format("2006-01-02")
			if len(sup.counts) != 1 || sup.counts[key] != 1 {
				t.Fatalf("suppressor got %v, want %s once", sup.counts, key)
			}
			if st.Suppressed[tt.reason] != 1 || st.Accepted != 0 {
				t.Fatalf("stats %+v", st)
			}
			if strings.HasPrefix(tt.request, "GET") && storedAnswer != nil {
				if got := answerWithoutDate(resp); !bytes.Equal(got, storedAnswer) {
					t.Fatalf("the answer to a suppressed hit differs from a stored one:\n%q\n%q", got, storedAnswer)
				}
			}
		})
	}
}

// answerWithoutDate is resp's header and body without the Date line, the
// only one that may differ between two answers, by the clock. (Deleting
// the header is not enough: fasthttp writes the current date into any
// response header that has none.)
func answerWithoutDate(resp *fasthttp.Response) []byte {
	var out []byte
	for line := range strings.SplitAfterSeq(string(resp.Header.Header()), "\r\n") {
		if !strings.HasPrefix(line, "Date: ") {
			out = append(out, line...)
		}
	}
	return append(out, resp.Body()...)
}

func TestPixelHeadStoresNothing(t *testing.T) {
	ts := startServer(t, testConfig())
	resp := ts.do(t, "HEAD /p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if resp.StatusCode() != 200 || resp.Header.ContentLength() != len(gifBody) {
		t.Fatalf("status %d length %d", resp.StatusCode(), resp.Header.ContentLength())
	}
	if n := len(ts.sink.stored()); n != 0 {
		t.Fatalf("HEAD stored %d events", n)
	}
}

func TestSinkFailureIs503(t *testing.T) {
	ts := startServer(t, testConfig())
	ts.sink.setErr(errFull)
	resp := ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F"))
	if resp.StatusCode() != 503 || !bytes.Equal(resp.Body(), gifBody) {
		t.Fatalf("pixel: status %d body %q, want 503 with the GIF", resp.StatusCode(), resp.Body())
	}
	resp = ts.do(t, post(`{"s":"demo","u":"https://example.com/"}`))
	if resp.StatusCode() != 503 {
		t.Fatalf("event: status %d, want 503", resp.StatusCode())
	}
	// Rejected hits never reach the Sink, so they are not 503.
	resp = ts.do(t, post(`{"s":"nope","u":"https://example.com/"}`))
	if resp.StatusCode() != 202 {
		t.Fatalf("unknown site with failing sink: status %d, want 202", resp.StatusCode())
	}
	if st := ts.Counters(); st.Unavailable != 2 || st.UnknownSite != 1 || st.Accepted != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEventKinds(t *testing.T) {
	ts := startServer(t, testConfig())
	bodies := []string{
		`{"s":"demo","u":"https://example.com/a?x=1","r":"https://example.com/b","w":375}`,
		`{"s":"demo","n":"signup","u":"https://shop.example.com/cart#pay","p":{"plan":"pro","seats":3,"trial":true,"gone":null}}`,
		`{"s":"demo","n":"engagement","u":"https://example.com/","t":15300,"d":180}`,
		`{"s":"demo","n":"pageview","u":"https://example.com/","r":"https://news.ycombinator.com/item?id=1","w":1000}`,
	}
	for _, b := range bodies {
		resp := ts.do(t, post(b))
		if resp.StatusCode() != 202 || len(resp.Body()) != 0 {
			t.Fatalf("%s: status %d body %q, want 202 and no body", b, resp.StatusCode(), resp.Body())
		}
	}
	base := mote.Event{SiteID: "demo", TS: testNow.UTC(), Hostname: "example.com", Pathname: "/", PropKeys: []string{}, PropValues: []string{},
		Browser: "Chrome", BrowserVersion: "131", OS: "Windows", OSVersion: "10", Device: "desktop", Channel: "direct"}
	want := []mote.Event{base, base, base, base}
	want[0].Kind, want[0].Pathname, want[0].Screen = mote.KindPageview, "/a", "mobile"
	want[1].Kind, want[1].Name, want[1].Hostname, want[1].Pathname = mote.KindEvent, "signup", "shop.example.com", "/cart"
	want[1].PropKeys, want[1].PropValues = []string{"plan", "seats", "trial"}, []string{"pro", "3", "true"}
	want[2].Kind, want[2].EngagementMS, want[2].ScrollDepth = mote.KindEngagement, 15300, 100
	want[3].Kind, want[3].ReferrerHost, want[3].Screen = mote.KindPageview, "news.ycombinator.com", "laptop"
	want[3].ReferrerSource, want[3].Channel = "Hacker News", "social"
	got := ts.sink.stored()
	if len(got) != len(want) {
		t.Fatalf("stored %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if !equalEvent(got[i], want[i]) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestEventRejections(t *testing.T) {
	tests := []struct {
		name   string
		req    string
		status int
		stat   func(Counters) uint64
	}{
		{"malformed json", post(`{"s":"demo",`), 400, func(s Counters) uint64 { return s.Malformed }},
		{"not an object", post(`["demo"]`), 400, func(s Counters) uint64 { return s.Malformed }},
		{"missing url", post(`{"s":"demo"}`), 400, func(s Counters) uint64 { return s.Malformed }},
		{"empty name", post(`{"s":"demo","n":"","u":"https://example.com/"}`), 400, func(s Counters) uint64 { return s.UnprintableName }},
		{"nul name", post(`{"s":"demo","n":"\u0000","u":"https://example.com/"}`), 400, func(s Counters) uint64 { return s.UnprintableName }},
		{"nested prop", post(`{"s":"demo","u":"https://example.com/","p":{"a":{"b":1}}}`), 400, func(s Counters) uint64 { return s.Malformed }},
		{"form type", post(`{"s":"demo","u":"https://example.com/"}`, "Content-Type: application/x-www-form-urlencoded\r\n"), 415, func(s Counters) uint64 { return s.Malformed }},
		{"too large", post(`{"s":"demo","u":"https://example.com/","x":"` + strings.Repeat("a", 17<<10) + `"}`), 413, func(s Counters) uint64 { return s.TooLarge }},
		{"unknown site", post(`{"s":"nope","u":"https://example.com/"}`), 202, func(s Counters) uint64 { return s.UnknownSite }},
		{"wrong host", post(`{"s":"demo","u":"https://example.org/"}`), 202, func(s Counters) uint64 { return s.BadHostname }},
		{"bad url", post(`{"s":"demo","u":"about:blank"}`), 202, func(s Counters) uint64 { return s.BadHostname }},
		{"get", get("/api/event"), 404, func(s Counters) uint64 { return s.NotFound }},
		{"unknown path", get("/wp-login.php"), 404, func(s Counters) uint64 { return s.NotFound }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, testConfig())
			resp := ts.do(t, tt.req)
			if resp.StatusCode() != tt.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode(), tt.status, resp.Body())
			}
			if n := len(ts.sink.stored()); n != 0 {
				t.Fatalf("stored %d events, want none", n)
			}
			if st := ts.Counters(); tt.stat(st) != 1 || st.Rejected() != 1 || st.Received != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	ts := startServer(t, testConfig())
	preflight := func(origin string) string {
		return "OPTIONS /api/event HTTP/1.1\r\nHost: c\r\nOrigin: " + origin +
			"\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n"
	}
	body := `{"s":"demo","u":"https://example.com/"}`
	tests := []struct {
		name, req, allow string
	}{
		{"preflight allowed", preflight("https://www.example.com"), "https://www.example.com"},
		{"preflight other site's origin", preflight("https://other.org"), "https://other.org"},
		{"preflight unknown origin", preflight("https://evil.com"), ""},
		{"preflight null origin", preflight("null"), ""},
		{"preflight origin with path", preflight("https://example.com/x"), ""},
		{"preflight origin with slash", preflight("https://example.com/"), ""},
		{"preflight origin with user", preflight("https://evil.com@example.com"), ""},
		{"preflight origin with port", preflight("http://example.com:8080"), "http://example.com:8080"},
		{"post allowed", post(body, "Content-Type: application/json\r\nOrigin: https://example.com\r\n"), "https://example.com"},
		{"post origin of another site", post(body, "Content-Type: application/json\r\nOrigin: https://other.org\r\n"), ""},
		{"post evil origin", post(body, "Content-Type: application/json\r\nOrigin: https://evil.com\r\n"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := ts.do(t, tt.req)
			if s := resp.StatusCode(); s != 204 && s != 202 {
				t.Fatalf("status %d", s)
			}
			if got := string(resp.Header.Peek("Access-Control-Allow-Origin")); got != tt.allow {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, tt.allow)
			}
			if v := resp.Header.Peek("Access-Control-Allow-Credentials"); v != nil {
				t.Fatalf("Access-Control-Allow-Credentials sent: %q", v)
			}
			if v := string(resp.Header.Peek("Vary")); v != "Origin" {
				t.Fatalf("Vary %q, want Origin", v)
			}
			if strings.HasPrefix(tt.req, "OPTIONS") && tt.allow != "" {
				if m := string(resp.Header.Peek("Access-Control-Allow-Methods")); m != "POST" {
					t.Fatalf("Access-Control-Allow-Methods %q", m)
				}
				if h := string(resp.Header.Peek("Access-Control-Allow-Headers")); !strings.EqualFold(h, "content-type") {
					t.Fatalf("Access-Control-Allow-Headers %q", h)
				}
			}
		})
	}
	if n := len(ts.sink.stored()); n != 3 {
		t.Fatalf("stored %d events, want the 3 posts (CORS does not gate storage)", n)
	}
}

func TestHealthAndReady(t *testing.T) {
	var ready atomic.Bool
	cfg := testConfig()
	cfg.Ready = ready.Load
	ts := startServer(t, cfg)
	check := func(target string, status int, body string) {
		t.Helper()
		resp := ts.do(t, get(target))
		if resp.StatusCode() != status || string(resp.Body()) != body {
			t.Fatalf("%s: %d %q, want %d %q", target, resp.StatusCode(), resp.Body(), status, body)
		}
	}
	check("/healthz", 200, "ok\n")
	check("/readyz", 503, "not ready\n")
	ready.Store(true)
	check("/readyz", 200, "ok\n")
	check("/", 404, "not found\n")
	if st := ts.Counters(); st.Received != 4 || st.NotFound != 1 || st.Rejected() != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestForwardedTrust runs real connections from 127.0.0.1 and checks which
// address the hit path settles on. The address itself never leaves the
// hit path, so the test reads it through the geo lookup: a small database
// names each candidate's network after the candidate (the lookup sees the
// /24 or /48 only, and every candidate is in a network of its own).
func TestForwardedTrust(t *testing.T) {
	path := filepath.Join(t.TempDir(), "City.mmdb")
	testenv.WriteMMDB(t, path, "GeoIP2-City", map[string]mmdbtype.Map{
		"127.0.0.0/24":    testenv.GeoRecord("AA", "", "127.0.0.1"),
		"198.51.100.0/24": testenv.GeoRecord("AA", "", "198.51.100.7"),
		"203.0.113.0/24":  testenv.GeoRecord("AA", "", "203.0.113.9"),
		"192.0.2.0/24":    testenv.GeoRecord("AA", "", "192.0.2.1"),
		"2001:db8::/48":   testenv.GeoRecord("AA", "", "2001:db8::17"),
	})
	geo, err := enrich.OpenGeo(path, enrich.GeoConfig{})
	if err != nil {
		t.Fatal(err)
	}
	hdr := "X-Forwarded-For: 198.51.100.7, 203.0.113.9\r\nForwarded: for=192.0.2.1\r\n"
	tests := []struct {
		name    string
		trusted []netip.Prefix
		header  string
		want    string
	}{
		{"untrusted peer's headers ignored", nil, hdr, "127.0.0.1"},
		{"untrusted peer, other range trusted", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, hdr, "127.0.0.1"},
		{"trusted peer, rightmost untrusted wins", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, hdr, "203.0.113.9"},
		{"trusted chain skipped", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("203.0.113.0/24")}, hdr, "198.51.100.7"},
		{"forwarded used without xff", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "Forwarded: for=\"[2001:db8::17]:4711\";proto=https\r\n", "2001:db8::17"},
		{"trusted peer, no headers", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Geo = geo
			cfg.TrustedProxies = tt.trusted
			ts := startServer(t, cfg)
			ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F", tt.header))
			stored := ts.sink.stored()
			if len(stored) != 1 {
				t.Fatalf("stored %d events, want 1", len(stored))
			}
			if got := stored[0].City; got != tt.want {
				t.Fatalf("client %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLimitsConfigured(t *testing.T) {
	s, err := New(testConfig(), &recordingSink{})
	if err != nil {
		t.Fatal(err)
	}
	if s.srv.ReadTimeout != 5*time.Second || s.srv.WriteTimeout != 5*time.Second || s.srv.IdleTimeout != time.Minute {
		t.Errorf("timeouts %v %v %v, want 5s 5s 1m", s.srv.ReadTimeout, s.srv.WriteTimeout, s.srv.IdleTimeout)
	}
	if s.srv.MaxRequestBodySize != 16<<10 || s.srv.ReadBufferSize != 8<<10 {
		t.Errorf("limits body %d header %d", s.srv.MaxRequestBodySize, s.srv.ReadBufferSize)
	}
}

// TestSlowClientIsCut is the slowloris case: a client that never finishes
// its headers is disconnected after ReadTimeout.
func TestSlowClientIsCut(t *testing.T) {
	cfg := testConfig()
	cfg.ReadTimeout = 300 * time.Millisecond
	cfg.IdleTimeout = 300 * time.Millisecond
	ts := startServer(t, cfg)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("GET /p.gif?s=demo HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	// Trickle a byte every 50ms, so that only a deadline on the whole
	// request (not one per read) can end it.
	go func() {
		for range 100 {
			time.Sleep(50 * time.Millisecond)
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := conn.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("server kept a stalled request open for 5s")
			}
			break
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("stalled connection closed after %v, want about 300ms", d)
	}
	if n := len(ts.sink.stored()); n != 0 {
		t.Fatalf("stored %d events", n)
	}
}

func TestHeaderTooLarge(t *testing.T) {
	ts := startServer(t, testConfig())
	resp := ts.do(t, get("/p.gif?s=demo&u="+strings.Repeat("a", 9<<10)))
	if resp.StatusCode() != 431 {
		t.Fatalf("status %d, want 431", resp.StatusCode())
	}
	if st := ts.Counters(); st.TooLarge != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// blockingSink holds Append until released, to observe Shutdown waiting.
type blockingSink struct {
	entered chan struct{}
	release chan struct{}
}

func (s *blockingSink) Append(*mote.Event, ...*mote.SessionRow) error {
	s.entered <- struct{}{}
	<-s.release
	return nil
}

func TestShutdownWaitsForInFlight(t *testing.T) {
	sink := &blockingSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv, err := New(testConfig(), sink)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	ts := &testServer{Server: srv, addr: ln.Addr().String()}
	status := make(chan int, 1)
	go func() {
		status <- ts.do(t, post(`{"s":"demo","u":"https://example.com/"}`)).StatusCode()
	}()
	<-sink.entered

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a hit was in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections during shutdown")
	}
	close(sink.release)
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if s := <-status; s != 202 {
		t.Fatalf("in-flight hit answered %d, want 202", s)
	}
	if err := <-served; err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
	if err := srv.Serve(ln); err == nil {
		t.Fatal("Serve after Shutdown succeeded")
	}
}

func TestShutdownTimesOut(t *testing.T) {
	sink := &blockingSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(sink.release)
	srv, err := New(testConfig(), sink)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	ts := &testServer{Server: srv, addr: ln.Addr().String()}
	go func() {
		conn, err := net.Dial("tcp", ts.addr)
		if err == nil {
			conn.Write([]byte(post(`{"s":"demo","u":"https://example.com/"}`)))
		}
	}()
	<-sink.entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown with a stuck hit returned nil before its deadline")
	}
}

func TestNewValidates(t *testing.T) {
	bad := []Config{
		{Sites: []mote.Site{{ID: "", Hostnames: []string{"a.com"}}}},
		{Sites: []mote.Site{{ID: "a", Hostnames: []string{"a.com"}}, {ID: "a", Hostnames: []string{"b.com"}}}},
		{Sites: []mote.Site{{ID: "a"}}},
		{Sites: []mote.Site{{ID: strings.Repeat("x", 101), Hostnames: []string{"a.com"}}}},
		{MaxBodyBytes: -1},
		{ReadBufferSize: 100},
		{ReadTimeout: -time.Second},
		{TrustedProxies: []netip.Prefix{{}}},
	}
	for i, cfg := range bad {
		if _, err := New(cfg, &recordingSink{}); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("nil sink accepted")
	}
	if _, err := New(Config{}, &recordingSink{}); err != nil {
		t.Errorf("zero config: %v", err)
	}
}

// TestEventControlChars: control characters in a beacon's name and props
// are removed before the hit goes on (the probe's body stored 0x00), and
// the server counts the beacon.
func TestEventControlChars(t *testing.T) {
	ts := startServer(t, testConfig())
	body := `{"s":"demo","n":"Nul\u0000Name\r\n\u001b[2J","u":"https://example.com/","p":{"k\u0000":"v\u0000\u2028x","t\u007f":"\u0085"}}`
	if resp := ts.do(t, post(body)); resp.StatusCode() != 202 {
		t.Fatalf("status %d", resp.StatusCode())
	}
	got := ts.sink.stored()
	if len(got) != 1 {
		t.Fatalf("stored %d events", len(got))
	}
	e := got[0]
	if e.Name != "NulName  [2J" || !slices.Equal(e.PropKeys, []string{"k", "t"}) || !slices.Equal(e.PropValues, []string{"v x", " "}) {
		t.Errorf("stored name %q props %q=%q", e.Name, e.PropKeys, e.PropValues)
	}
	if st := ts.Counters(); st.ControlChars != 1 || st.Accepted != 1 || st.Rejected() != 0 {
		t.Errorf("stats %+v", st)
	}
}
