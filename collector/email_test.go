package collector

import (
	"errors"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/internal/testenv"
)

// campaignTable is a fixed Campaigns for tests, as cmd's cache would hold.
type campaignTable map[string]CampaignKeys

func (t campaignTable) Lookup(id string) (CampaignKeys, bool) {
	k, ok := t[id]
	return k, ok
}

func testCampaigns() campaignTable {
	open := CampaignKeys{ID: "spring", SiteID: "demo", WindowEnd: testNow.Add(time.Hour)}
	for i := range open.Recipient {
		open.Recipient[i] = byte(i + 1)
	}
	for i := range open.Link {
		open.Link[i] = byte(100 + i)
	}
	ended := open
	ended.ID, ended.WindowEnd = "ended", testNow.Add(-time.Second) // the wipe loop has not run yet
	wiped := CampaignKeys{ID: "wiped", SiteID: "demo", WindowEnd: testNow.Add(-time.Hour), Wiped: true}
	orphan := open
	orphan.ID, orphan.SiteID = "orphan", "gone"
	return campaignTable{"spring": open, "ended": ended, "wiped": wiped, "orphan": orphan}
}

// emailSink keeps deep copies of every string of the events it accepts.
type emailSink struct {
	mu     sync.Mutex
	events []mote.Event
	err    error
}

func (s *emailSink) Append(e *mote.Event, _ ...*mote.SessionRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	c := *e
	for _, p := range []*string{&c.SiteID, &c.CampaignID, &c.MachineReason, &c.LinkURL, &c.Country, &c.Region, &c.City,
		&c.Browser, &c.BrowserVersion, &c.OS, &c.OSVersion, &c.Device, &c.Hostname, &c.Pathname} {
		*p = strings.Clone(*p)
	}
	s.events = append(s.events, c)
	return nil
}

func (s *emailSink) take() []mote.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.events
	s.events = nil
	return out
}

type suppressCall struct {
	site   string
	reason mote.SuppressReason
}

type recordingSuppressor struct {
	mu    sync.Mutex
	calls []suppressCall
}

func (r *recordingSuppressor) Suppress(site string, reason mote.SuppressReason, _ time.Time) {
	r.mu.Lock()
	r.calls = append(r.calls, suppressCall{site, reason})
	r.mu.Unlock()
}

type emailServer struct {
	*Server
	sink *emailSink
	sup  *recordingSuppressor
}

func newEmailServer(t *testing.T, edit func(*Config)) *emailServer {
	t.Helper()
	cfg := testConfig()
	cfg.Campaigns = testCampaigns()
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	sup := &recordingSuppressor{}
	cfg.Suppressions = sup
	if edit != nil {
		edit(&cfg)
	}
	sink := &emailSink{}
	s, err := New(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	return &emailServer{Server: s, sink: sink, sup: sup}
}

// request runs one raw request through the handler from peer 10.0.0.1 (a
// trusted proxy) and returns status, body and headers of interest.
func (es *emailServer) request(t *testing.T, raw string) (status int, body, location, referrerPolicy string) {
	t.Helper()
	h := newHandlerCtx(raw, netip.MustParseAddr("10.0.0.1"))
	if err := h.serve(es.Server); err != nil {
		t.Fatal(err)
	}
	r := &h.ctx.Response
	return r.StatusCode(), string(r.Body()), string(r.Header.Peek("Location")), string(r.Header.Peek("Referrer-Policy"))
}

func TestEmailOpens(t *testing.T) {
	es := newEmailServer(t, nil)
	key := testCampaigns()["spring"].Recipient
	id := func(tok string) uint64 { return enrich.RecipientID(&key, []byte(tok)) }
	long := strings.Repeat("t", enrich.MaxTokenLen)
	for _, c := range []struct {
		name, path string
		stored     bool
		recipient  uint64
	}{
		{"anonymous", "/o/spring.gif", true, 0},
		{"token", "/o/spring/sub-1.gif", true, id("sub-1")},
		{"replayed open", "/o/spring/sub-1.gif", true, id("sub-1")},
		{"longest token", "/o/spring/" + long + ".gif", true, id(long)},
		{"token too long", "/o/spring/" + long + "x.gif", true, 0},
		{"e-mail as token", "/o/spring/jane@example.com.gif", true, 0},
		{"unfilled merge tag", "/o/spring/%7B%7BTOKEN%7D%7D.gif", true, 0},
		{"empty token", "/o/spring/.gif", true, 0},
		{"token with a slash", "/o/spring/a/b.gif", true, 0},
		{"odd characters", "/o/spring/a%00b.gif", true, 0},
		{"unknown campaign", "/o/nosuch/sub-1.gif", false, 0},
		{"closed by the clock", "/o/ended/sub-1.gif", false, 0},
		{"keys wiped", "/o/wiped/sub-1.gif", false, 0},
		{"site not served", "/o/orphan/sub-1.gif", false, 0},
		{"no .gif", "/o/spring/sub-1", false, 0},
		{"bad campaign id", "/o/spr'ing.gif", false, 0},
		{"empty campaign", "/o/.gif", false, 0},
		{"campaign id too long", "/o/" + strings.Repeat("c", 65) + ".gif", false, 0},
	} {
		status, body, _, _ := es.request(t, get(c.path))
		if status != 200 || body != string(gifBody) {
			t.Errorf("%s: status %d, %d bytes; want the GIF", c.name, status, len(body))
		}
		got := es.sink.take()
		if !c.stored {
			if len(got) != 0 {
				t.Errorf("%s: stored %+v", c.name, got)
			}
			continue
		}
		if len(got) != 1 {
			t.Errorf("%s: stored %d events, want 1", c.name, len(got))
			continue
		}
		e := got[0]
		if e.Kind != mote.KindEmailOpen || e.SiteID != "demo" || e.CampaignID != "spring" || e.RecipientID != c.recipient ||
			e.MachineOpen != 0 || e.LinkURL != "" || e.Browser != "Chrome" || !e.TS.Equal(testNow) {
			t.Errorf("%s: stored %+v", c.name, e)
		}
	}
	// Unknown campaigns have no site: only the collector's counter. Closed
	// campaigns count against their site.
	if n := es.Counters().Suppressed[mote.SuppressCampaign]; n != 3 {
		t.Errorf("campaign suppressions %d, want 3", n)
	}
	want := []suppressCall{{"demo", mote.SuppressCampaign}, {"demo", mote.SuppressCampaign}}
	if got := es.sup.calls; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("suppressor saw %v, want %v", got, want)
	}
	// HEAD (link checkers) answers the GIF and stores nothing.
	status, _, _, _ := es.request(t, strings.Replace(get("/o/spring/sub-1.gif"), "GET", "HEAD", 1))
	if status != 200 || len(es.sink.take()) != 0 {
		t.Errorf("HEAD: status %d or stored", status)
	}
	// DNT and GPC store nothing for email either.
	for _, h := range []string{"DNT: 1\r\n", "Sec-GPC: 1\r\n"} {
		es.request(t, get("/o/spring/sub-1.gif", h, browserUA))
		if got := es.sink.take(); len(got) != 0 {
			t.Errorf("%q: stored", h)
		}
	}
	// A full spool: the GIF with 503.
	es.sink.err = errors.New("spool full")
	if status, _, _, _ := es.request(t, get("/o/spring.gif")); status != 503 {
		t.Errorf("full spool: status %d, want 503", status)
	}
}

// TestEmailMachineOpens: one fixture per proxy kind, through the handler,
// with the address the verdict needs forwarded by a trusted proxy.
func TestEmailMachineOpens(t *testing.T) {
	es := newEmailServer(t, nil)
	for _, c := range []struct {
		name, ip, ua, extra, reason string
	}{
		{"person", "198.51.100.7", strings.TrimSpace(strings.TrimPrefix(browserUA, "User-Agent:")), "", ""},
		{"apple mpp network", "17.58.1.2", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", "", enrich.ReasonAppleMPP},
		{"apple mpp agent", "198.51.100.7", "Mozilla/5.0", "", enrich.ReasonAppleMPP},
		{"gmail", "66.249.84.1", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", "", enrich.ReasonGmailProxy},
		{"yahoo", "198.51.100.8", "Mozilla/5.0 (compatible; YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html)", "", enrich.ReasonYahooProxy},
		{"safe links", "198.51.100.9", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246", "", enrich.ReasonMicrosoftScanner},
		{"barracuda", "198.51.100.10", "Barracuda Sentinel (EE)", "", enrich.ReasonSecurityScanner},
		{"prefetch", "198.51.100.11", strings.TrimSpace(strings.TrimPrefix(browserUA, "User-Agent:")), "Sec-Purpose: prefetch\r\n", enrich.ReasonPrefetch},
		{"curl", "198.51.100.12", "curl/8.5.0", "", enrich.ReasonBot},
	} {
		es.request(t, get("/o/spring/sub-1.gif", "User-Agent: "+c.ua+"\r\n", "X-Forwarded-For: "+c.ip+"\r\n", c.extra))
		got := es.sink.take()
		if len(got) != 1 {
			t.Errorf("%s: stored %d events, want 1 (machine opens are flagged, not dropped)", c.name, len(got))
			continue
		}
		if wantMachine := uint8(0); c.reason != "" {
			wantMachine = 1
			if got[0].MachineOpen != wantMachine || got[0].MachineReason != c.reason {
				t.Errorf("%s: machine %d %q, want 1 %q", c.name, got[0].MachineOpen, got[0].MachineReason, c.reason)
			}
		} else if got[0].MachineOpen != 0 || got[0].MachineReason != "" {
			t.Errorf("%s: machine %d %q, want a human open", c.name, got[0].MachineOpen, got[0].MachineReason)
		}
	}
}

// TestEmailGeoIsCountry: email keeps the country even for a city-precision
// site, and nothing for a site that keeps none.
func TestEmailGeoIsCountry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "City.mmdb")
	testenv.WriteMMDB(t, path, "GeoIP2-City", map[string]mmdbtype.Map{
		"203.0.113.0/24": testenv.GeoRecord("GB", "ENG", "London"),
	})
	geo, err := enrich.OpenGeo(path, enrich.GeoConfig{})
	if err != nil {
		t.Fatal(err)
	}
	es := newEmailServer(t, func(c *Config) {
		c.Geo = geo
		c.Sites = append(c.Sites, mote.Site{ID: "nogeo", Hostnames: []string{"x.example"}, GeoPrecision: "none"})
		tab := testCampaigns()
		k := tab["spring"]
		k.ID, k.SiteID = "nogeo", "nogeo"
		tab["nogeo"] = k
		c.Campaigns = tab
	})
	for id, want := range map[string]string{"spring": "GB", "nogeo": ""} {
		es.request(t, get("/o/"+id+".gif", "X-Forwarded-For: 203.0.113.77\r\n"))
		got := es.sink.take()
		if len(got) != 1 || got[0].Country != want || got[0].Region != "" || got[0].City != "" {
			t.Errorf("%s: %+v, want country %q only", id, got, want)
		}
	}
}

func TestEmailClicks(t *testing.T) {
	es := newEmailServer(t, nil)
	keys := testCampaigns()["spring"]
	target := "https://example.com/spring?utm_source=newsletter&x=a+b"
	sig := enrich.SignLink(&keys.Link, target)
	link := func(path, u, s string) string { return path + "?u=" + url.QueryEscape(u) + "&s=" + s }

	status, _, loc, policy := es.request(t, get(link("/c/spring/sub-1", target, sig)))
	if status != 302 || loc != target || policy != "no-referrer" {
		t.Fatalf("valid click: %d to %q (Referrer-Policy %q)", status, loc, policy)
	}
	got := es.sink.take()
	if len(got) != 1 || got[0].Kind != mote.KindEmailClick || got[0].LinkURL != target || got[0].CampaignID != "spring" ||
		got[0].RecipientID != enrich.RecipientID(&keys.Recipient, []byte("sub-1")) {
		t.Fatalf("valid click stored %+v", got)
	}
	if status, _, loc, _ = es.request(t, get(link("/c/spring", target, sig))); status != 302 || loc != target {
		t.Fatalf("anonymous click: %d %q", status, loc)
	}
	if got := es.sink.take(); len(got) != 1 || got[0].RecipientID != 0 {
		t.Fatalf("anonymous click stored %+v", got)
	}

	evil := "https://evil.example/login"
	jsURL := "javascript:alert(document.cookie)"
	other := testCampaigns()["ended"]
	for name, raw := range map[string]string{
		"forged signature":        link("/c/spring/sub-1", target, strings.Repeat("A", enrich.LinkSigLen)),
		"truncated signature":     link("/c/spring/sub-1", target, sig[:enrich.LinkSigLen-2]),
		"padded signature":        link("/c/spring/sub-1", target, sig+"%3D%3D"),
		"no signature":            "/c/spring/sub-1?u=" + url.QueryEscape(target),
		"no url":                  "/c/spring/sub-1?s=" + sig,
		"other target":            link("/c/spring/sub-1", evil, sig),
		"signed elsewhere":        link("/c/spring/sub-1", target, enrich.SignLink(&[enrich.LinkKeyLen]byte{}, target)),
		"signed javascript":       link("/c/spring/sub-1", jsURL, enrich.SignLink(&keys.Link, jsURL)),
		"signed relative":         link("/c/spring/sub-1", "/admin", enrich.SignLink(&keys.Link, "/admin")),
		"signed user info":        link("/c/spring/sub-1", "https://a@evil.example/", enrich.SignLink(&keys.Link, "https://a@evil.example/")),
		"bad token":               link("/c/spring/jane@example.com", target, sig),
		"token too long":          link("/c/spring/"+strings.Repeat("t", enrich.MaxTokenLen+1), target, sig),
		"unknown campaign":        link("/c/nosuch/sub-1", target, sig),
		"closed campaign":         link("/c/ended/sub-1", target, enrich.SignLink(&other.Link, target)),
		"wiped campaign":          link("/c/wiped/sub-1", target, sig),
		"bad campaign id":         link("/c/sp%27ring/sub-1", target, sig),
		"nothing after /c/":       "/c/",
		"extra path segment":      link("/c/spring/sub-1/x", target, sig),
		"invalid utf-8 in target": "/c/spring/sub-1?u=https%3A%2F%2Fexample.com%2F%FF&s=" + sig,
	} {
		status, _, loc, _ := es.request(t, get(raw))
		if status != 400 || loc != "" {
			t.Errorf("%s: status %d, Location %q; want 400", name, status, loc)
		}
		if got := es.sink.take(); len(got) != 0 {
			t.Errorf("%s: stored %+v", name, got)
		}
	}
	// A full spool still sends the reader on.
	es.sink.err = errors.New("spool full")
	if status, _, loc, _ := es.request(t, get(link("/c/spring/sub-1", target, sig))); status != 302 || loc != target {
		t.Errorf("full spool: %d %q, want the redirect", status, loc)
	}
	if es.Counters().Unavailable != 1 {
		t.Errorf("unavailable %d, want 1", es.Counters().Unavailable)
	}
}

func FuzzEmailPaths(f *testing.F) {
	for _, s := range []string{"/o/spring.gif", "/o/spring/sub-1.gif", "/o/a/b/c.gif", "/o/.gif", "/c/spring/sub-1", "/c/spring", "/c//x", "/o/\xff.gif"} {
		f.Add([]byte(s), []byte("u=https%3A%2F%2Fexample.com%2F&s=abc&u=x"))
	}
	f.Fuzz(func(t *testing.T, path, query []byte) {
		if c, tok, ok := parseOpenPath(path); ok {
			if !validCampaignID(c) || tok != nil && !enrich.ValidToken(tok) {
				t.Fatalf("open %q: campaign %q token %q", path, c, tok)
			}
		}
		if c, tok, ok := parseClickPath(path); ok {
			if !validCampaignID(c) || len(tok) > 0 && !enrich.ValidToken(tok) {
				t.Fatalf("click %q: campaign %q token %q", path, c, tok)
			}
		}
		var sc scratch
		parseClickQuery(query, &sc)
	})
}
