package dashboards

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The API's numbers are the fixture's hand-counted ones (see
// enginetest.StatsFixture): the handlers only pass them through.

func getJSON(t *testing.T, base, path string, query url.Values) map[string]any {
	t.Helper()
	resp, body := get(t, base+path+"?"+query.Encode())
	if resp.StatusCode != 200 {
		t.Fatalf("%s?%s: %d %s", path, query.Encode(), resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s: %v in %s", path, err, body)
	}
	return out
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// dig walks a decoded JSON value by keys and indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestAggregateAPI(t *testing.T) {
	base, fx := statsServer(t)
	out := getJSON(t, base, "/api/v1/stats/aggregate", q("site", fx.Site, "period", "day", "compare", "previous_period"))
	want := map[string][3]any{ // value, comparison value, change
		"visitors":        {4.0, 1.0, 300.0},
		"visits":          {5.0, 1.0, 400.0},
		"pageviews":       {7.0, 1.0, 600.0},
		"bounce_rate":     {40.0, 100.0, -60.0},
		"visit_duration":  {86.0, 0.0, nil},
		"views_per_visit": {1.4, 1.0, 40.0},
		"events":          {1.0, 0.0, nil},
		"time_on_page":    {20.0, 0.0, nil},
		"scroll_depth":    {60.0, 0.0, nil},
	}
	for m, w := range want {
		got := [3]any{dig(out, "results", m, "value"), dig(out, "results", m, "comparison_value"), dig(out, "results", m, "change")}
		if got != w {
			t.Errorf("%s: %v, want %v", m, got, w)
		}
	}
	if p := dig(out, "period"); !reflect.DeepEqual(p, map[string]any{"name": "day", "from": fx.D.Format("2006-01-02"),
		"to": fx.D.Format("2006-01-02"), "timezone": "Asia/Tokyo"}) {
		t.Errorf("period %v", p)
	}
	if p := dig(out, "comparison_period", "from"); p != fx.D.AddDate(0, 0, -1).Format("2006-01-02") {
		t.Errorf("comparison from %v", p)
	}

	// A goal filter adds the conversion rate; filters combine.
	out = getJSON(t, base, "/api/v1/stats/aggregate", q("site", fx.Site, "period", "day", "filters", "event==Signup", "filters", "country==DE"))
	if v, c := dig(out, "results", "visitors", "value"), dig(out, "results", "conversion_rate", "value"); v != 1.0 || c != 50.0 {
		t.Errorf("goal with country: visitors %v conversion %v", v, c)
	}
	out = getJSON(t, base, "/api/v1/stats/aggregate", q("site", fx.Site, "period", "custom", "from", fx.D.Format("2006-01-02"),
		"to", fx.D.Format("2006-01-02"), "filters", "page~PRIC", "metrics", "visitors,visits"))
	if r := dig(out, "results"); !reflect.DeepEqual(r, map[string]any{"visitors": map[string]any{"value": 2.0}, "visits": map[string]any{"value": 2.0}}) {
		t.Errorf("page contains: %v", r)
	}
	// Year over year: nothing a year before.
	out = getJSON(t, base, "/api/v1/stats/aggregate", q("site", fx.Site, "period", "7d", "compare", "year_over_year"))
	if v, c := dig(out, "results", "visitors", "value"), dig(out, "results", "visitors", "comparison_value"); v != 5.0 || c != 0.0 {
		t.Errorf("7d: visitors %v, a year before %v", v, c) // v1 v2 v3 v5 v7
	}
}

func TestTimeseriesAPI(t *testing.T) {
	base, fx := statsServer(t)
	out := getJSON(t, base, "/api/v1/stats/timeseries", q("site", fx.Site, "period", "7d", "metrics", "visitors,pageviews"))
	res, _ := dig(out, "results").([]any)
	if len(res) != 7 || dig(out, "interval") != "day" {
		t.Fatalf("7d: %d points, interval %v", len(res), dig(out, "interval"))
	}
	last, prev := res[6], res[5]
	if !reflect.DeepEqual(last, map[string]any{"date": fx.D.Format("2006-01-02"), "visitors": 4.0, "pageviews": 7.0}) ||
		!reflect.DeepEqual(prev, map[string]any{"date": fx.D.AddDate(0, 0, -1).Format("2006-01-02"), "visitors": 1.0, "pageviews": 1.0}) {
		t.Errorf("last two days %v %v", prev, last)
	}
	out = getJSON(t, base, "/api/v1/stats/timeseries", q("site", fx.Site, "period", "day", "compare", "previous_period"))
	res, _ = dig(out, "results").([]any)
	cmp, _ := dig(out, "comparison").([]any)
	if len(res) != 24 || len(cmp) != 24 || dig(res[10], "date") != fx.D.Format("2006-01-02")+"T10:00:00+09:00" || dig(res[10], "visitors") != 1.0 {
		t.Errorf("day by the hour: %d and %d points, 10:00 = %v", len(res), len(cmp), res[10])
	}
}

func TestBreakdownAPI(t *testing.T) {
	base, fx := statsServer(t)
	out := getJSON(t, base, "/api/v1/stats/breakdown", q("site", fx.Site, "period", "day", "property", "source"))
	want := []any{
		map[string]any{"value": "Google", "visitors": 2.0, "visits": 2.0, "bounce_rate": 0.0, "visit_duration": 210.0},
		map[string]any{"value": "", "visitors": 1.0, "visits": 1.0, "bounce_rate": 0.0, "visit_duration": 10.0},
		map[string]any{"value": "Newsletter", "visitors": 1.0, "visits": 1.0, "bounce_rate": 100.0, "visit_duration": 0.0},
		map[string]any{"value": "Twitter", "visitors": 1.0, "visits": 1.0, "bounce_rate": 100.0, "visit_duration": 0.0},
	}
	if got := dig(out, "results"); !reflect.DeepEqual(got, want) {
		t.Errorf("sources\n got %v\nwant %v", got, want)
	}
	// The site's k is 2: Paris and Amsterdam (one visitor each) fold.
	out = getJSON(t, base, "/api/v1/stats/breakdown", q("site", fx.Site, "period", "day", "property", "city", "metrics", "visitors"))
	if got := dig(out, "results"); !reflect.DeepEqual(got, []any{
		map[string]any{"value": "Berlin", "visitors": 2.0}, map[string]any{"value": "(other)", "visitors": 2.0}}) {
		t.Errorf("cities with k=2: %v", got)
	}
	out = getJSON(t, base, "/api/v1/stats/breakdown", q("site", fx.Site, "period", "day", "property", "page", "limit", "1", "filters", "country!=DE"))
	if got := dig(out, "results"); !reflect.DeepEqual(got, []any{
		map[string]any{"value": "/", "visitors": 2.0, "pageviews": 2.0, "time_on_page": 10.0, "scroll_depth": 40.0}}) {
		t.Errorf("pages outside DE: %v", got)
	}
}

func TestCSV(t *testing.T) {
	base, fx := statsServer(t)
	read := func(path string, v url.Values) [][]string {
		t.Helper()
		v.Set("format", "csv")
		resp, body := get(t, base+path+"?"+v.Encode())
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment; filename=") {
			t.Fatalf("%s: %d %v %s", path, resp.StatusCode, resp.Header, body)
		}
		recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	got := read("/api/v1/stats/breakdown", q("site", fx.Site, "period", "day", "property", "country", "metrics", "visitors,visits"))
	if want := [][]string{{"country", "visitors", "visits"}, {"DE", "2", "3"}, {"FR", "1", "1"}, {"NL", "1", "1"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("countries CSV %v", got)
	}
	got = read("/api/v1/stats/aggregate", q("site", fx.Site, "period", "day", "metrics", "visitors,bounce_rate", "compare", "previous_period"))
	if want := [][]string{{"metric", "value", "comparison_value", "change"}, {"visitors", "4", "1", "300"}, {"bounce_rate", "40", "100", "-60"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("aggregate CSV %v", got)
	}
	got = read("/api/v1/suppressed", q("site", fx.Site, "period", "day"))
	if want := [][]string{{"reason", "count"}, {"dnt", "3"}, {"gpc", "2"}, {"no_consent", "1"}, {"stored", "10"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("suppressed CSV %v", got)
	}
	got = read("/api/v1/stats/timeseries", q("site", fx.Site, "period", "7d", "metrics", "visitors"))
	if len(got) != 8 || !reflect.DeepEqual(got[7], []string{fx.D.Format("2006-01-02"), "4"}) {
		t.Errorf("timeseries CSV %v", got)
	}
	// A formula-looking value is neutralised for spreadsheets.
	rec := httptestCSV(t, [][]any{{"=HYPERLINK(\"x\")", uint64(1)}})
	if rec[1][0] != "'=HYPERLINK(\"x\")" {
		t.Errorf("formula cell %q", rec[1][0])
	}
}

func TestSuppressedAndRealtimeAPI(t *testing.T) {
	base, fx := statsServer(t)
	out := getJSON(t, base, "/api/v1/suppressed", q("site", fx.Site, "period", "day"))
	if out["stored"] != 10.0 || out["suppressed"] != 6.0 || out["suppressed_percent"] != 37.5 ||
		!reflect.DeepEqual(out["reasons"], []any{
			map[string]any{"reason": "dnt", "count": 3.0}, map[string]any{"reason": "gpc", "count": 2.0},
			map[string]any{"reason": "no_consent", "count": 1.0}}) {
		t.Errorf("suppressed %v", out)
	}
	// The clock stands 4 minutes after v3's first hit; the hour before
	// saw only v2, more than 5 minutes ago.
	out = getJSON(t, base, "/api/v1/stats/realtime", q("site", fx.Site))
	if out["visitors"] != 1.0 || out["site"] != fx.Site {
		t.Errorf("realtime %v", out)
	}
}

func TestAPIErrors(t *testing.T) {
	base, fx := statsServer(t)
	f := func(path string, v url.Values, code int, msg string) {
		t.Helper()
		resp, body := get(t, base+path+"?"+v.Encode())
		var e struct{ Error string }
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != code || !strings.Contains(e.Error, msg) {
			t.Errorf("%s?%s: %d %s, want %d %q", path, v.Encode(), resp.StatusCode, body, code, msg)
		}
	}
	f("/api/v1/stats/aggregate", q(), 400, "site is required")
	f("/api/v1/stats/aggregate", q("site", "nope"), 404, `unknown site "nope"`)
	f("/api/v1/stats/aggregate", q("site", fx.Site, "period", "week"), 400, "period")
	f("/api/v1/stats/aggregate", q("site", fx.Site, "period", "custom", "from", "2026-01-02"), 400, "from and to")
	f("/api/v1/stats/aggregate", q("site", fx.Site, "period", "custom", "from", "2026-01-02", "to", "2026-01-01"), 400, "before")
	f("/api/v1/stats/aggregate", q("site", fx.Site, "date", "yesterday"), 400, "date")
	f("/api/v1/stats/aggregate", q("site", fx.Site, "compare", "last_week"), 400, "compare")
	f("/api/v1/stats/aggregate", q("site", fx.Site, "filters", "ip==1.2.3.4"), 400, "unknown dimension")
	f("/api/v1/stats/aggregate", q("site", fx.Site, "filters", "country"), 400, "want DIMENSION==VALUE")
	f("/api/v1/stats/aggregate", q("site", fx.Site, "metrics", "revenue"), 400, "unknown metric")
	f("/api/v1/stats/aggregate", q("site", fx.Site, "format", "xml"), 400, "format")
	f("/api/v1/stats/breakdown", q("site", fx.Site), 400, "property is required")
	f("/api/v1/stats/breakdown", q("site", fx.Site, "property", "page", "limit", "0"), 400, "limit")
	f("/api/v1/stats/timeseries", q("site", fx.Site, "period", "year", "interval", "hour"), 400, "larger interval")
}

func TestParseFilters(t *testing.T) {
	f := func(in string, want []any) {
		t.Helper()
		got, err := parseFilters([]string{in})
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if g := []any{got[0].Dimension, string(got[0].Op), got[0].Values}; !reflect.DeepEqual(g, want) {
			t.Errorf("%q: %v, want %v", in, g, want)
		}
	}
	f("country==DE|FR", []any{"country", "is", []string{"DE", "FR"}})
	f("page!=/a==b", []any{"page", "is_not", []string{"/a==b"}})
	f("page~pric", []any{"page", "contains", []string{"pric"}})
	f("page!~pric", []any{"page", "not_contains", []string{"pric"}})
	f("prop:plan==pro", []any{"prop:plan", "is", []string{"pro"}})
	f("utm_campaign==a~b", []any{"utm_campaign", "is", []string{"a~b"}})
}

func httptestCSV(t *testing.T, rows [][]any) [][]string {
	t.Helper()
	rec := httptest.NewRecorder()
	writeCSV(rec, "x", []string{"value", "n"}, rows)
	out, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGoalsAPI(t *testing.T) {
	base, fx := statsServer(t)
	out := getJSON(t, base, "/api/v1/stats/goals", q("site", fx.Site, "period", "day"))
	// enginetest.FixtureGoals over day D (4 visitors): Signup v1; /pricing*
	// v1 and v3; /d*s v3; "/" v1, v2, v7; none for the last two.
	want := []any{
		map[string]any{"goal": "Signup", "event": "Signup", "visitors": 1.0, "conversions": 1.0, "conversion_rate": 25.0},
		map[string]any{"goal": "Pricing visit", "page": "/pricing*", "visitors": 2.0, "conversions": 2.0, "conversion_rate": 50.0},
		map[string]any{"goal": "Docs", "page": "/d*s", "visitors": 1.0, "conversions": 1.0, "conversion_rate": 25.0},
		map[string]any{"goal": "Home", "page": "/", "visitors": 3.0, "conversions": 3.0, "conversion_rate": 75.0},
		map[string]any{"goal": "Purchase", "event": "Purchase", "visitors": 0.0, "conversions": 0.0, "conversion_rate": 0.0},
		map[string]any{"goal": "Dot is not a wildcard", "page": "/pricing.", "visitors": 0.0, "conversions": 0.0, "conversion_rate": 0.0},
	}
	if got := dig(out, "results"); !reflect.DeepEqual(got, want) {
		t.Errorf("goals\n got %v\nwant %v", got, want)
	}
	// In Germany (v1, v3): Signup 1 of 2, home 1 of 2.
	out = getJSON(t, base, "/api/v1/stats/goals", q("site", fx.Site, "period", "day", "filters", "country==DE"))
	if r := dig(out, "results", 0, "conversion_rate"); r != 50.0 {
		t.Errorf("Signup in DE: %v", r)
	}
	if r := dig(out, "results", 3, "conversion_rate"); r != 50.0 {
		t.Errorf("home in DE: %v", r)
	}
	// A site without goals answers an empty list.
	if r := dig(getJSON(t, base, "/api/v1/stats/goals", q("site", "empty")), "results"); !reflect.DeepEqual(r, []any{}) {
		t.Errorf("no goals: %v", r)
	}
}

func TestCampaignsAPI(t *testing.T) {
	base, fx := statsServer(t)
	out := getJSON(t, base, "/api/v1/stats/campaigns", q("site", fx.Site))
	c := dig(out, "results", 0)
	// 4 sends; opens by 1, 2 and a machine open for 3; a click by 1.
	for k, v := range map[string]any{"campaign_id": "launch", "name": "Spring launch", "sends": 4.0, "opens": 3.0, "human_opens": 2.0,
		"machine_opens": 1.0, "unique_opens": 3.0, "open_rate": 0.75, "clicks": 1.0, "unique_clicks": 1.0} {
		if got := dig(c, k); got != v {
			t.Errorf("%s: %v, want %v", k, got, v)
		}
	}
	if ctor := dig(c, "click_to_open_rate").(float64); ctor < 0.333 || ctor > 0.334 {
		t.Errorf("click to open %v", ctor)
	}
	if strings.Contains(fmt.Sprint(c), "key") && !strings.Contains(fmt.Sprint(c), "keys_wiped") {
		t.Errorf("a key in the report: %v", c)
	}
	if r := dig(getJSON(t, base, "/api/v1/stats/campaigns", q("site", "empty")), "results"); !reflect.DeepEqual(r, []any{}) {
		t.Errorf("a site without campaigns: %v", r)
	}
}

// "(none)" rows can be filtered: an empty value after == is the row whose
// value is empty (direct traffic under sources), != its complement; the
// two add up to the unfiltered total. "Contains nothing" is refused.
func TestEmptyValueFilter(t *testing.T) {
	base, fx := statsServer(t)
	visits := func(filters ...string) float64 {
		qs := q("site", fx.Site, "period", "day", "metrics", "visits")
		for _, f := range filters {
			qs.Add("filters", f)
		}
		v, _ := dig(getJSON(t, base, "/api/v1/stats/aggregate", qs), "results", "visits", "value").(float64)
		return v
	}
	rows, _ := dig(getJSON(t, base, "/api/v1/stats/breakdown", q("site", fx.Site, "period", "day", "property", "source", "metrics", "visits")), "results").([]any)
	none := -1.0
	for _, r := range rows {
		if dig(r, "value") == "" {
			none, _ = dig(r, "visits").(float64)
		}
	}
	if none <= 0 {
		t.Fatalf("the fixture has no direct visits to filter on: %v", rows)
	}
	total := visits()
	if got := visits("source=="); got != none {
		t.Errorf("source== counts %v visits, the (none) row %v", got, none)
	}
	if got := visits("source!="); got != total-none {
		t.Errorf("source!= counts %v visits, want %v of %v", got, total-none, total)
	}
	resp, body := get(t, base+"/api/v1/stats/aggregate?"+q("site", fx.Site, "filters", "source~").Encode())
	if resp.StatusCode != 400 || !strings.Contains(string(body), "no value to look for") {
		t.Errorf("source~ with no value: %d %s", resp.StatusCode, body)
	}
}

// TestSampledAPI: a filtered card over more stored rows than the server's
// SampleAbove says it is an estimate (sample_one_in in JSON, the
// Mote-Sample-One-In header in every format) and is the sample scaled
// up; exact=true, an unfiltered card and a card under the threshold are
// exact and say nothing.
func TestSampledAPI(t *testing.T) {
	eng, fx := seeded(t)
	now := fx.D.Add(3*time.Hour + 4*time.Minute)
	base := startServer(t, Config{Stats: eng, Sites: testSites(fx), Now: func() time.Time { return now }, SampleAbove: 4})
	de := q("site", fx.Site, "period", "day", "filters", "country==DE")
	read := func(path string, v url.Values) (map[string]any, string) {
		t.Helper()
		resp, _ := get(t, base+path+"?"+v.Encode())
		return getJSON(t, base, path, v), resp.Header.Get(sampleHeader)
	}
	with := func(v url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = append([]string(nil), vs...)
		}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	sampled, header := read("/api/v1/stats/aggregate", de)
	n, _ := sampled["sample_one_in"].(float64)
	if n < 2 || header != strconv.Itoa(int(n)) {
		t.Fatalf("filtered aggregate: sample_one_in %v, header %q; want a sample, said twice", sampled["sample_one_in"], header)
	}
	exact, header := read("/api/v1/stats/aggregate", with(de, "exact", "true"))
	if _, ok := exact["sample_one_in"]; ok || header != "" {
		t.Errorf("exact=true: sample_one_in %v, header %q", exact["sample_one_in"], header)
	}
	// The fixture's visitor ids are small: every one falls in the sample.
	for _, m := range []string{"visitors", "visits", "pageviews"} {
		if s, e := dig(sampled, "results", m, "value"), dig(exact, "results", m, "value"); s != n*e.(float64) {
			t.Errorf("%s: sampled %v, want %v x the exact %v", m, s, n, e)
		}
	}
	if r := dig(sampled, "results", "bounce_rate", "value"); r != dig(exact, "results", "bounce_rate", "value") {
		t.Errorf("bounce rate %v sampled, %v exact: a rate is the sample's", r, dig(exact, "results", "bounce_rate", "value"))
	}
	for _, path := range []string{"/api/v1/stats/timeseries", "/api/v1/stats/breakdown"} {
		out, header := read(path, with(de, "property", "page"))
		if out["sample_one_in"] != n || header != strconv.Itoa(int(n)) {
			t.Errorf("%s: sample_one_in %v, header %q; want %v", path, out["sample_one_in"], header, n)
		}
	}
	resp, _ := get(t, base+"/api/v1/stats/breakdown?"+with(de, "property", "page", "format", "csv").Encode())
	if h := resp.Header.Get(sampleHeader); h != strconv.Itoa(int(n)) {
		t.Errorf("CSV breakdown: header %q, want %v", h, n)
	}
	for label, v := range map[string]url.Values{"unfiltered": q("site", fx.Site, "period", "day"),
		"over few rows": q("site", fx.Site, "period", "custom", "from", fx.D.AddDate(0, 0, -2).Format(time.DateOnly), "to", fx.D.AddDate(0, 0, -2).Format(time.DateOnly), "filters", "country==DE")} {
		if out, header := read("/api/v1/stats/aggregate", v); out["sample_one_in"] != nil || header != "" {
			t.Errorf("%s: sample_one_in %v, header %q", label, out["sample_one_in"], header)
		}
	}
	if resp, body := get(t, base+"/api/v1/stats/aggregate?"+with(de, "exact", "maybe").Encode()); resp.StatusCode != 400 {
		t.Errorf("exact=maybe: %d %s", resp.StatusCode, body)
	}
}
