package dashboards

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
)

// TestMeasuresPage: the public page says what the site's configuration
// does, without a login, and changes with it.
func TestMeasuresPage(t *testing.T) {
	strict := mote.Site{ID: "shop", Timezone: "UTC", Consent: mote.ConsentRequired, GeoPrecision: "country",
		Retention: 90 * 24 * time.Hour, QueryKeys: []string{"q"}}
	loose := mote.Site{ID: "blog", Timezone: "UTC", IgnoreDNT: true, GeoPrecision: "none", KAnonymity: -1}
	eng, _ := seeded(t)
	base := startServer(t, Config{Stats: eng, Sites: []mote.Site{strict, loose}, PasswordHash: "set"})
	page := func(id string) string {
		t.Helper()
		resp, body := get(t, base+"/privacy/"+id)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			resp.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("/privacy/%s: %d %v", id, resp.StatusCode, resp.Header)
		}
		return string(body)
	}
	has := func(page, want string, yes bool) {
		t.Helper()
		if strings.Contains(page, want) != yes {
			t.Errorf("page contains %q: %v, want %v", want, !yes, yes)
		}
	}
	s := page("shop")
	has(s, "Only if you agreed", true)
	has(s, "nothing about your visit is stored.</li>", true)
	has(s, "<li>Where your visit came from (country),", true)
	has(s, "kept for 3 months", true)
	has(s, "<code>q</code>", true)
	has(s, "fewer than 5 visitors", true)
	has(s, "not to honour Do Not Track", false)
	b := page("blog")
	has(b, "Only if you agreed", false)
	has(b, "not to honour Do Not Track", true)
	has(b, "No location at all", true)
	has(b, "kept for 25 months", true)
	has(b, "fewer than", false)
	if resp, _ := get(t, base+"/privacy/nope"); resp.StatusCode != 404 {
		t.Errorf("unknown site: %d", resp.StatusCode)
	}
}

// TestSessionAPI: "Log out" only where a password is configured and the
// caller is not a share link; the collector's port for the snippet.
func TestSessionAPI(t *testing.T) {
	srv := newAuthServer(t)
	var out map[string]any
	_, body := srv.do(t, "GET", "/api/v1/session", nil, "Authorization", "Bearer "+srv.apiKey)
	if err := json.Unmarshal([]byte(body), &out); err != nil || out["logout"] != true || out["share"] != false {
		t.Errorf("with a password: %s", body)
	}
	eng, fx := seeded(t)
	base := startServer(t, Config{Stats: eng, Sites: testSites(fx), CollectorAddr: ":18180"})
	_, b := get(t, base+"/api/v1/session")
	if err := json.Unmarshal(b, &out); err != nil || out["logout"] != false || out["collector_port"] != "18180" {
		t.Errorf("without a password: %s", b)
	}
}
