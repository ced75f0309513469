package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/mote-analytics/mote/internal/testenv"
)

// TestDemoInvariants runs `mote demo` at its default size (30 days, 50,000
// visitors: far more session rows than the 16 MiB buffer of the session
// writer that preceded the spooled visit rows, which the demo once
// overflowed from day 5 on) on embedded storage, then reads
// the numbers a marketer sees through the stats API of `mote serve`:
// every day with pageviews has visits and no more visitors than visits;
// no page has more visitors than pageviews;
// the visits of the source, country and device rows add up to the
// aggregate's; no visit card is mostly "(none)" where the demo generated
// values.
func TestDemoInvariants(t *testing.T) {
	lib := testenv.ChDBLib(t)
	config := embeddedConfig(t, lib, filepath.Join(t.TempDir(), "chdb"), "sites:\n  - id: demo\n    hostnames: [demo.example]\n")
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"demo", "-config", config, "--quiet"}, func(string) string { return "" }, &out, &errs); code != 0 {
		t.Fatalf("mote demo: exit %d\n%s", code, errs.String())
	}
	inst := startServe(t, config)
	api := func(path string, q url.Values, into any) {
		t.Helper()
		q.Set("site", "demo")
		q.Set("period", "30d")
		resp, err := http.Get(inst.admin + "/api/v1/stats/" + path + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s", path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}

	var series struct {
		Results []struct {
			Date                        string
			Visitors, Visits, Pageviews float64
		}
	}
	api("timeseries", url.Values{"interval": {"day"}, "metrics": {"visitors,visits,pageviews"}}, &series)
	days := 0
	for _, d := range series.Results {
		if d.Pageviews == 0 {
			continue
		}
		days++
		if d.Visits < 1 || d.Visitors > d.Visits {
			t.Errorf("%s: %v pageviews, %v visits, %v visitors", d.Date, d.Pageviews, d.Visits, d.Visitors)
		}
	}
	if days < 29 {
		t.Errorf("pageviews on %d of 30 days", days)
	}

	var agg struct {
		Results map[string]struct{ Value float64 }
	}
	api("aggregate", url.Values{"metrics": {"visitors,visits"}}, &agg)
	visits, visitors := agg.Results["visits"].Value, agg.Results["visitors"].Value
	if visits < 50_000 || visitors > visits {
		t.Fatalf("30 days: %v visits, %v visitors", visits, visitors)
	}
	// A page's visitors all viewed it: no more visitors than pageviews.
	var pages struct {
		Results []struct {
			Value               string
			Visitors, Pageviews float64
		}
	}
	api("breakdown", url.Values{"property": {"page"}, "metrics": {"visitors,pageviews"}, "limit": {"1000"}}, &pages)
	for _, r := range pages.Results {
		if r.Visitors > r.Pageviews {
			t.Errorf("page %s: %v visitors, %v pageviews", r.Value, r.Visitors, r.Pageviews)
		}
	}
	for _, prop := range []string{"source", "channel", "country", "device", "browser", "entry_page"} {
		var b struct {
			Results []struct {
				Value  string
				Visits float64
			}
		}
		api("breakdown", url.Values{"property": {prop}, "metrics": {"visits"}, "limit": {"1000"}}, &b)
		sum, none := 0.0, 0.0
		for _, r := range b.Results {
			sum += r.Visits
			if r.Value == "" {
				none += r.Visits
			}
		}
		if (prop == "source" || prop == "country" || prop == "device") && sum != visits {
			t.Errorf("%s rows add up to %v visits, the aggregate says %v", prop, sum, visits)
		}
		if none > visits/2 {
			t.Errorf("%s: %v of %v visits under (none)", prop, none, visits)
		}
	}
}
