package dashboards

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// chromium is Debian's build; playwright-core (the tracker's pinned npm
// module) drives it.
const chromium = "/usr/bin/chromium"

// TestBrowser runs testdata/browser.mjs in Debian's Chromium against a
// password-protected admin listener on the seeded store, telling it the
// password, a share link and the numbers the API answers (read with an
// API key) so that it checks the page shows exactly those. Screenshots are
// kept in $MOTE_ARTIFACTS/dashboard (default: a temporary directory that
// is logged).
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
	base, site := srv.base, srv.site
	call := func(path string, v url.Values) string {
		t.Helper()
		resp, body := srv.do(t, "GET", path+"?"+v.Encode(), nil, "Authorization", "Bearer "+srv.apiKey)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		return body
	}
	getJSON := func(path string, v url.Values) map[string]any {
		t.Helper()
		var out map[string]any
		if err := json.Unmarshal([]byte(call(path, v)), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	agg := getJSON("/api/v1/stats/aggregate", q("site", site, "period", "day", "compare", "previous_period"))
	de := getJSON("/api/v1/stats/aggregate", q("site", site, "period", "day", "filters", "country==DE"))
	pages := getJSON("/api/v1/stats/breakdown", q("site", site, "period", "day", "property", "page", "limit", "10"))
	priv := getJSON("/api/v1/suppressed", q("site", site, "period", "day"))
	rt := getJSON("/api/v1/stats/realtime", q("site", site))
	goals := getJSON("/api/v1/stats/goals", q("site", site, "period", "day"))
	camp := dig(getJSON("/api/v1/stats/campaigns", q("site", site)), "results", 0)
	csv := call("/api/v1/stats/breakdown", q("site", site, "period", "day", "compare", "previous_period",
		"property", "country", "limit", "1000", "format", "csv"))
	// A share link, made through the admin API.
	resp, body := srv.do(t, "POST", "/api/v1/share-links", strings.NewReader(`{"site":"`+site+`","label":"browser test"}`),
		"Authorization", "Bearer "+srv.apiKey)
	var link shareJSON
	if resp.StatusCode != 201 || json.Unmarshal([]byte(body), &link) != nil {
		t.Fatalf("share link: %d %s", resp.StatusCode, body)
	}
	var pageNames []string
	for _, r := range dig(pages, "results").([]any) {
		pageNames = append(pageNames, dig(r, "value").(string))
	}
	num := func(v any) string { return fmt.Sprint(v) }
	pct := func(v any) string { return fmt.Sprint(math.Round(v.(float64)*1000)/10) + "%" }
	expect := map[string]any{
		"password":           testPassword,
		"timezone":           srv.cfg.Sites[0].Timezone,
		"day_start":          srv.fx.DayFrom(0).Unix(),
		"share_path":         link.Path,
		"signup_rate":        num(dig(goals, "results", 0, "conversion_rate")) + "%",
		"campaign_opens":     fmt.Sprintf("%v (%v / %v)", dig(camp, "opens"), dig(camp, "human_opens"), dig(camp, "machine_opens")),
		"campaign_open_rate": pct(dig(camp, "open_rate")),
		"site":               site,
		"visitors":           num(dig(agg, "results", "visitors", "value")),
		"pageviews":          num(dig(agg, "results", "pageviews", "value")),
		"bounce_rate":        num(dig(agg, "results", "bounce_rate", "value")) + "%",
		"visitors_de":        num(dig(de, "results", "visitors", "value")),
		"visitors_change":    fmt.Sprintf("+%v%% (was %v)", dig(agg, "results", "visitors", "change"), dig(agg, "results", "visitors", "comparison_value")),
		"pages":              pageNames,
		"suppressed":         fmt.Sprintf("%v (%v%%)", priv["suppressed"], priv["suppressed_percent"]),
		"realtime":           num(rt["visitors"]),
		"countries_csv":      csv,
	}
	enc, _ := json.Marshal(expect)
	shots := os.Getenv("MOTE_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	}
	shots = filepath.Join(shots, "dashboard")
	cmd := exec.Command(node, "testdata/browser.mjs")
	cmd.Env = append(os.Environ(), "BASE_URL="+base, "EXPECT="+string(enc), "SCREENSHOTS="+shots, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser.mjs (expect %s):\n%s", enc, out)
	if err != nil {
		t.Fatalf("node testdata/browser.mjs: %v", err)
	}
}
