package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// chromium is Debian's build; playwright-core (the tracker's pinned npm
// module) drives it.
const chromium = "/usr/bin/chromium"

// TestBrowser runs testdata/browser.mjs in Debian's Chromium against the
// admin listener on the seeded store, telling it the numbers the API
// answers so that it checks the page shows exactly those. Screenshots are
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
	base, fx := statsServer(t)
	agg := getJSON(t, base, "/api/v1/stats/aggregate", q("site", fx.Site, "period", "day", "compare", "previous_period"))
	de := getJSON(t, base, "/api/v1/stats/aggregate", q("site", fx.Site, "period", "day", "filters", "country==DE"))
	pages := getJSON(t, base, "/api/v1/stats/breakdown", q("site", fx.Site, "period", "day", "property", "page", "limit", "10"))
	priv := getJSON(t, base, "/api/v1/suppressed", q("site", fx.Site, "period", "day"))
	rt := getJSON(t, base, "/api/v1/stats/realtime", q("site", fx.Site))
	_, csv := get(t, base+"/api/v1/stats/breakdown?"+q("site", fx.Site, "period", "day", "compare", "previous_period",
		"property", "country", "limit", "1000", "format", "csv").Encode())
	var pageNames []string
	for _, r := range dig(pages, "results").([]any) {
		pageNames = append(pageNames, dig(r, "value").(string))
	}
	num := func(v any) string { return fmt.Sprint(v) }
	expect := map[string]any{
		"site":            fx.Site,
		"visitors":        num(dig(agg, "results", "visitors", "value")),
		"pageviews":       num(dig(agg, "results", "pageviews", "value")),
		"bounce_rate":     num(dig(agg, "results", "bounce_rate", "value")) + "%",
		"visitors_de":     num(dig(de, "results", "visitors", "value")),
		"visitors_change": fmt.Sprintf("+%v%% (was %v)", dig(agg, "results", "visitors", "change"), dig(agg, "results", "visitors", "comparison_value")),
		"pages":           pageNames,
		"suppressed":      fmt.Sprintf("%v (%v%%)", priv["suppressed"], priv["suppressed_percent"]),
		"realtime":        num(rt["visitors"]),
		"countries_csv":   string(csv),
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
