package dashboards

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
)

// chromium is Debian's build; playwright-core (the tracker's pinned npm
// module) drives it.
const chromium = "/usr/bin/chromium"

// TestBrowser runs testdata/browser.mjs in Debian's Chromium against a
// password-protected admin listener on the seeded store. The script reads
// the stats API itself (with an API key) and checks that every number the
// page shows is the API's, in the page's units; see the script for the
// walk. The server knows one more site, "fresh", with no data: the script
// asks HIT_URL for its first hit while the page waits for it. Screenshots
// go to $MOTE_SCREENSHOTS (default: a temporary directory).
func TestBrowser(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is missing: run `make test-deps` (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: run `make test-deps` (apt-get install chromium)", chromium)
	}
	if _, err := os.Stat("../tracker-js/node_modules/playwright-core/package.json"); err != nil {
		t.Fatal("playwright-core is missing: run `make tracker-deps`")
	}
	srv := newAuthServer(t)
	eng, fx := seeded(t)
	// The same server with the site "fresh" added, on its own port.
	cfg := srv.cfg
	cfg.Sites = append(testSites(fx), mote.Site{ID: "fresh", Timezone: "UTC"})
	cfg.CollectorAddr = ":18080"
	fresh := *srv
	fresh.base = startServer(t, cfg)
	// And one that estimates filtered cards of more than 4 stored rows
	// from a sample: the page must say so and offer the exact numbers.
	cfg.SampleAbove = 4
	sampledBase := startServer(t, cfg)
	// HIT_URL stores fresh's first pageview, a minute before the server's now.
	hits := http.NewServeMux()
	hits.HandleFunc("POST /hit", func(w http.ResponseWriter, r *http.Request) {
		now := time.Unix(0, srv.clock.Load())
		err := eng.InsertEvents(context.Background(), 77, []mote.Event{{SiteID: "fresh", TS: now.Add(-time.Minute), Kind: mote.KindPageview,
			Hostname: "fresh.example", Pathname: "/", Country: "FR", Browser: "Firefox", OS: "Linux", Device: "desktop", VisitorID: 4242, SessionID: 4243}})
		if err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	hitURL := startHTTP(t, hits)
	// The store is shared by the package's tests: fresh's hit leaves with
	// this one (mutations_sync: deleted before the next test reads).
	t.Cleanup(func() {
		if err := eng.ExecSQL(context.Background(), "ALTER TABLE events DELETE WHERE site_id = 'fresh' SETTINGS mutations_sync = 2"); err != nil {
			t.Errorf("remove fresh's hit: %v", err)
		}
	})
	// A share link, made through the admin API.
	resp, body := srv.do(t, "POST", "/api/v1/share-links", strings.NewReader(`{"site":"`+srv.site+`","label":"browser test"}`),
		"Authorization", "Bearer "+srv.apiKey)
	var link shareJSON
	if resp.StatusCode != 201 || json.Unmarshal([]byte(body), &link) != nil {
		t.Fatalf("share link: %d %s", resp.StatusCode, body)
	}
	shots := os.Getenv("MOTE_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "dashboard")
	}
	env := map[string]any{
		"password": testPassword, "api_key": srv.apiKey, "site": srv.site, "timezone": fx.Timezone,
		"day_start": fx.DayFrom(0).Unix(), "share_path": link.Path, "today": fx.D.Format(time.DateOnly),
	}
	enc, _ := json.Marshal(env)
	cmd := exec.Command(node, "testdata/browser.mjs")
	cmd.Env = append(os.Environ(), "BASE_URL="+fresh.base, "SAMPLED_URL="+sampledBase, "HIT_URL="+hitURL+"/hit", "EXPECT="+string(enc),
		"SCREENSHOTS="+shots, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("node testdata/browser.mjs: %v", err)
	}
}

// startHTTP serves h on a loopback port until the test ends.
func startHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	s := &http.Server{Handler: h}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return "http://" + ln.Addr().String()
}
