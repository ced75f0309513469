package enginetest

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

// The stats queries checked against the hand-counted StatsFixture (its
// doc comment is the table the numbers below come from).

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// want is the expected counters of a query; -1 skips a field.
type want struct {
	visitors, visits, pageviews, events int
	bounce, duration, vpv               float64
	top, scroll, conv                   float64
}

func checkStats(t *testing.T, label string, s stats.Metrics, w want) {
	t.Helper()
	var bad []string
	u := func(name string, got uint64, w int) {
		if w >= 0 && got != uint64(w) {
			bad = append(bad, fmt.Sprintf("%s %d want %d", name, got, w))
		}
	}
	f := func(name string, got, w float64) {
		if w >= 0 && !near(got, w) {
			bad = append(bad, fmt.Sprintf("%s %v want %v", name, got, w))
		}
	}
	u("visitors", s.Visitors, w.visitors)
	u("visits", s.Visits, w.visits)
	u("pageviews", s.Pageviews, w.pageviews)
	u("events", s.Events, w.events)
	f("bounce_rate", s.BounceRate(), w.bounce)
	f("visit_duration", s.VisitDuration(), w.duration)
	f("views_per_visit", s.ViewsPerVisit(), w.vpv)
	f("time_on_page", s.TimeOnPage(), w.top)
	f("scroll_depth", s.ScrollDepth(), w.scroll)
	f("conversion_rate", s.ConversionRate(), w.conv)
	if len(bad) > 0 {
		t.Errorf("%s: %s", label, strings.Join(bad, ", "))
	}
}

var skip = want{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

func filter(dim string, op stats.FilterOp, values ...string) stats.Filter {
	return stats.Filter{Dimension: dim, Op: op, Values: values}
}

func testStatsAggregate(t *testing.T, e Inspector) {
	fx := seedStats(t, e)
	agg := func(label string, w want, filters ...stats.Filter) {
		t.Helper()
		q := fx.Query()
		q.Filters = filters
		s, err := stats.Aggregate(ctx(t), e, q)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		checkStats(t, label, s, w)
	}
	// v1, v2, v3, v7; visits s1 s2 s3 s4 s7; bounces s4 s7; 120+10+300 s;
	// session pageviews 2+1+2+1+1; engagement 30 s/80 % and 10 s/40 %.
	agg("all", want{4, 5, 7, 1, 40, 86, 1.4, 20, 60, 0})
	agg("country DE", want{2, 3, 5, 1, 100.0 / 3, 140, 5.0 / 3, 30, 80, 0}, filter("country", stats.FilterIs, "DE"))
	agg("country not DE", want{2, 2, 2, 0, 50, 5, 1, 10, 40, 0}, filter("country", stats.FilterIsNot, "DE"))
	// Source lives on sessions: events reach it through session_id.
	agg("source Google", want{2, 2, 4, 1, 0, 210, 2, 30, 80, 0}, filter("source", stats.FilterIs, "Google"))
	agg("source not Google", want{3, 3, 3, 0, 200.0 / 3, 10.0 / 3, 1, 10, 40, 0}, filter("source", stats.FilterIsNot, "Google"))
	// Page lives on events: sessions reach it through matching hits.
	agg("page /pricing", want{2, 2, 2, 1, 0, 210, 2, 30, 80, 0}, filter("page", stats.FilterIs, "/pricing"))
	agg("page contains PRIC", want{2, 2, 2, 1, 0, 210, 2, 30, 80, 0}, filter("page", stats.FilterContains, "PRIC"))
	agg("page not /pricing", want{4, 3, 5, 0, 200.0 / 3, 10.0 / 3, 1, 10, 40, 0}, filter("page", stats.FilterIsNot, "/pricing"))
	agg("page not contains pric", want{4, 3, 5, 0, -1, -1, -1, -1, -1, -1}, filter("page", stats.FilterNotContains, "pric"))
	agg("page is / or /docs", want{4, -1, 4, 0, -1, -1, -1, 10, 40, -1}, filter("page", stats.FilterIs, "/", "/docs"))
	agg("entry page /", want{3, 3, 4, 1, 100.0 / 3, 130.0 / 3, 4.0 / 3, 20, 60, -1}, filter("entry_page", stats.FilterIs, "/"))
	// s1's superseded state had exit page "/": it must not count.
	agg("exit page /", want{2, 2, 2, 0, 50, 5, 1, 10, 40, -1}, filter("exit_page", stats.FilterIs, "/"))
	agg("utm_campaign launch", want{1, 1, 1, 0, 100, 0, 1, -1, -1, -1}, filter("utm_campaign", stats.FilterIs, "launch"))
	agg("goal Signup", want{1, 1, 0, 1, -1, -1, -1, -1, -1, 25}, filter("event", stats.FilterIs, "Signup"))
	agg("prop plan pro", want{1, -1, 0, 1, -1, -1, -1, -1, -1, 25}, filter("prop:plan", stats.FilterIs, "pro"))
	agg("goal with country", want{1, -1, -1, 1, -1, -1, -1, -1, -1, 50},
		filter("event", stats.FilterIs, "Signup"), filter("country", stats.FilterIs, "DE"))
	agg("two filters", want{1, 1, 2, 1, 0, 120, 2, -1, -1, -1},
		filter("browser", stats.FilterIs, "Chrome"), filter("source", stats.FilterIs, "Google"))
	agg("quote in value", want{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, filter("city", stats.FilterIs, `Ber'lin\`))

	// The previous Tokyo day holds only v5; another site is separate.
	q := fx.Query()
	q.From, q.To = fx.DayFrom(-1), fx.DayTo(-1)
	s, err := stats.Aggregate(ctx(t), e, q)
	if err != nil {
		t.Fatal(err)
	}
	checkStats(t, "previous day", s, want{1, 1, 1, 0, 100, 0, 1, 0, 0, 0})
	q = fx.Query()
	q.SiteID = "elsewhere"
	if s, err = stats.Aggregate(ctx(t), e, q); err != nil {
		t.Fatal(err)
	}
	checkStats(t, "other site", s, want{1, 0, 1, 0, 0, 0, 0, 0, 0, 0})

	for _, bad := range []stats.Query{
		{SiteID: "shop", From: fx.DayTo(0), To: fx.DayFrom(0)},
		{SiteID: "", From: fx.DayFrom(0), To: fx.DayTo(0)},
		{SiteID: "shop", From: fx.DayFrom(0), To: fx.DayTo(0), Timezone: "Mars/Base"},
		{SiteID: "shop", From: fx.DayFrom(0), To: fx.DayTo(0), Filters: []stats.Filter{filter("ip", stats.FilterIs, "1")}},
		{SiteID: "shop", From: fx.DayFrom(0), To: fx.DayTo(0), Filters: []stats.Filter{filter("page", "like", "/")}},
		{SiteID: "shop", From: fx.DayFrom(0), To: fx.DayTo(0), Filters: []stats.Filter{filter("page", stats.FilterIs)}},
	} {
		if _, err := stats.Aggregate(ctx(t), e, bad); err == nil {
			t.Errorf("query %+v: no error", bad)
		}
	}
}

func testStatsTimeseries(t *testing.T, e Inspector) {
	fx := seedStats(t, e)
	loc, _ := time.LoadLocation(fx.Timezone)
	q := fx.Query()
	q.From = fx.DayFrom(-1)
	q.Interval = stats.IntervalDay
	pts, err := stats.Timeseries(ctx(t), e, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 {
		t.Fatalf("%d day buckets, want 2", len(pts))
	}
	for i, p := range pts {
		wantStart := time.Date(fx.D.Year(), fx.D.Month(), fx.D.Day()-1+i, 0, 0, 0, 0, loc)
		if !p.Start.Equal(wantStart) || p.Start.Location().String() != fx.Timezone {
			t.Errorf("bucket %d starts %v, want %v", i, p.Start, wantStart)
		}
	}
	checkStats(t, "day D-1", pts[0].Metrics, want{1, 1, 1, 0, 100, 0, 1, 0, 0, 0})
	checkStats(t, "day D", pts[1].Metrics, want{4, 5, 7, 1, 40, 86, 1.4, 20, 60, 0})

	q = fx.Query()
	q.Interval = stats.IntervalHour
	if pts, err = stats.Timeseries(ctx(t), e, q); err != nil {
		t.Fatal(err)
	}
	if len(pts) != 24 {
		t.Fatalf("%d hour buckets, want 24", len(pts))
	}
	// Tokyo hours: v7 at 05, s1 at 10, s2 at 11, s3 at 12, s4 at 15.
	wantPV := map[int][2]uint64{5: {1, 1}, 10: {1, 2}, 11: {1, 1}, 12: {1, 2}, 15: {1, 1}}
	for _, p := range pts {
		h := p.Start.Hour()
		w := wantPV[h]
		if p.Visitors != w[0] || p.Pageviews != w[1] {
			t.Errorf("hour %02d: %d visitors %d pageviews, want %d %d", h, p.Visitors, p.Pageviews, w[0], w[1])
		}
	}

	// Weeks and months: every hit of the fixture's site lands in one of
	// the buckets, which start on Mondays and first days in Tokyo.
	for _, iv := range []stats.Interval{stats.IntervalWeek, stats.IntervalMonth} {
		q = fx.Query()
		q.From, q.To, q.Interval = fx.DayFrom(-10), fx.DayTo(10), iv
		if pts, err = stats.Timeseries(ctx(t), e, q); err != nil {
			t.Fatal(err)
		}
		var sum uint64
		for _, p := range pts {
			sum += p.Pageviews
			if (iv == stats.IntervalWeek && p.Start.Weekday() != time.Monday) || (iv == stats.IntervalMonth && p.Start.Day() != 1) ||
				p.Start.Hour() != 0 {
				t.Errorf("%s bucket starts %v", iv, p.Start)
			}
		}
		if sum != 9 {
			t.Errorf("%s buckets: %d pageviews, want 9", iv, sum)
		}
	}
	q = fx.Query()
	q.From, q.Interval = fx.DayFrom(-400), stats.IntervalHour
	if _, err := stats.Timeseries(ctx(t), e, q); err == nil {
		t.Error("400 days by the hour: no error")
	}
}

// wantRow is one expected row of a breakdown: its value and its numbers.
type wantRow struct {
	value string
	w     want
}

// checkBreakdown runs the breakdown of fx by dim with k-anonymity k and
// limit, and checks that it is rows, in order.
func checkBreakdown(t *testing.T, e Inspector, fx StatsFixture, dim string, k, limit int, rows ...wantRow) {
	t.Helper()
	q := fx.Query()
	q.Dimension, q.KAnonymity, q.Limit = dim, k, limit
	got, err := stats.Breakdown(ctx(t), e, q)
	if err != nil {
		t.Fatalf("%s: %v", dim, err)
	}
	if len(got) != len(rows) {
		var vals []string
		for _, g := range got {
			vals = append(vals, fmt.Sprintf("%q:%d", g.Value, g.Visitors))
		}
		t.Fatalf("%s k=%d: rows %v, want %d rows", dim, k, vals, len(rows))
	}
	for i, r := range rows {
		if got[i].Value != r.value {
			t.Errorf("%s row %d: %q, want %q", dim, i, got[i].Value, r.value)
			continue
		}
		checkStats(t, dim+" "+r.value, got[i].Metrics, r.w)
	}
}

func testStatsBreakdown(t *testing.T, e Inspector) {
	fx := seedStats(t, e)
	bd := func(dim string, k, limit int, rows ...wantRow) {
		t.Helper()
		checkBreakdown(t, e, fx, dim, k, limit, rows...)
	}
	w := func(visitors, pageviews int) want {
		x := skip
		x.visitors, x.pageviews = visitors, pageviews
		return x
	}
	bd("page", 0, 0,
		wantRow{"/", want{3, -1, 3, 0, -1, -1, -1, 10, 40, -1}}, // engagement counts where it happened
		wantRow{"/pricing", w(2, 2)}, wantRow{"/blog", w(1, 1)}, wantRow{"/docs", w(1, 1)})
	bd("page", 0, 2, wantRow{"/", w(3, 3)}, wantRow{"/pricing", w(2, 2)})
	// Sources: visits and their visitors, from sessions (first touch).
	bd("source", 0, 0,
		wantRow{"Google", want{2, 2, -1, -1, 0, 210, 2, -1, -1, -1}},
		wantRow{"", want{1, 1, -1, -1, 0, 10, 1, -1, -1, -1}},
		wantRow{"Newsletter", want{1, 1, -1, -1, 100, 0, 1, -1, -1, -1}},
		wantRow{"Twitter", want{1, 1, -1, -1, 100, 0, 1, -1, -1, -1}})
	bd("channel", 0, 1, wantRow{"search", want{2, 2, -1, -1, 0, -1, -1, -1, -1, -1}})
	bd("utm_campaign", 0, 0, wantRow{"", want{3, 4, -1, -1, -1, -1, -1, -1, -1, -1}}, wantRow{"launch", want{1, 1, -1, -1, -1, -1, -1, -1, -1, -1}})
	bd("entry_page", 0, 0,
		wantRow{"/", want{3, 3, -1, -1, 100.0 / 3, -1, -1, -1, -1, -1}},
		wantRow{"/blog", want{1, 1, -1, -1, 100, -1, -1, -1, -1, -1}},
		wantRow{"/pricing", want{1, 1, -1, -1, 0, 300, -1, -1, -1, -1}})
	bd("exit_page", 0, 0,
		wantRow{"/", want{2, 2, -1, -1, -1, -1, -1, -1, -1, -1}},
		wantRow{"/blog", want{1, 1, -1, -1, -1, -1, -1, -1, -1, -1}},
		wantRow{"/docs", want{1, 1, -1, -1, -1, -1, -1, -1, -1, -1}},
		wantRow{"/pricing", want{1, 1, -1, -1, -1, -1, -1, -1, -1, -1}})
	// Geo and device: visits, like sources (the session counts the Signup
	// event of visit 11).
	bd("country", 0, 0,
		wantRow{"DE", want{2, 3, 5, 1, 100.0 / 3, 140, -1, -1, -1, -1}},
		wantRow{"FR", want{1, 1, 1, 0, 0, 10, -1, -1, -1, -1}},
		wantRow{"NL", want{1, 1, 1, 0, 100, 0, -1, -1, -1, -1}})
	bd("device", 0, 0, wantRow{"desktop", w(3, 5)}, wantRow{"mobile", w(1, 2)})
	bd("event", 0, 0, wantRow{"Signup", want{1, -1, -1, 1, -1, -1, -1, -1, -1, 25}})
	bd("prop:plan", 0, 0, wantRow{"pro", want{1, -1, -1, 1, -1, -1, -1, -1, -1, 25}})

	// k-anonymity: cities Berlin (v1, v3), Paris (v2), Amsterdam (v7).
	bd("city", 0, 0, wantRow{"Berlin", w(2, 5)}, wantRow{"Amsterdam", w(1, 1)}, wantRow{"Paris", w(1, 1)})
	bd("city", 1, 0, wantRow{"Berlin", w(2, 5)}, wantRow{"Amsterdam", w(1, 1)}, wantRow{"Paris", w(1, 1)})
	bd("city", 2, 0, wantRow{"Berlin", w(2, 5)}, wantRow{stats.Other, w(2, 2)})
	bd("city", 3, 0, wantRow{stats.Other, w(4, 7)})
	bd("city", 5, 0) // even "(other)" is under k: nothing is shown
	bd("region", 2, 0, wantRow{"DE-BE", w(2, 5)}, wantRow{stats.Other, w(2, 2)})
	bd("region", 2, 1, wantRow{"DE-BE", w(2, 5)}) // the top rows first, "(other)" only if there is room
	// k-anonymity is for places only.
	bd("browser", 5, 0, wantRow{"Firefox", w(2, 2)}, wantRow{"Chrome", w(1, 3)}, wantRow{"Safari", w(1, 2)})

	q := fx.Query()
	q.Dimension = "nope"
	if _, err := stats.Breakdown(ctx(t), e, q); err == nil {
		t.Error("unknown dimension: no error")
	}
	q.Dimension, q.Limit = "page", stats.MaxBreakdownLimit+1
	if _, err := stats.Breakdown(ctx(t), e, q); err == nil {
		t.Error("limit over the cap: no error")
	}
}

func testStatsRealtimeAndPrivacy(t *testing.T, e Inspector) {
	fx := seedStats(t, e)
	now := time.Now().UTC().Truncate(time.Second)
	// Two visitors within the last 5 minutes (one of them twice), one before.
	var live []mote.Event
	for i, ago := range []time.Duration{time.Minute, 4 * time.Minute, 2 * time.Minute, 6 * time.Minute} {
		live = append(live, mote.Event{SiteID: fx.Site, TS: now.Add(-ago), Kind: mote.KindPageview, Pathname: "/",
			VisitorID: []uint64{201, 202, 202, 203}[i]})
	}
	if err := e.InsertEvents(ctx(t), 50, live); err != nil {
		t.Fatal(err)
	}
	n, err := stats.Realtime(ctx(t), e, fx.Site, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("realtime: %d visitors, want 2", n)
	}

	r, err := stats.Privacy(ctx(t), e, fx.Query())
	if err != nil {
		t.Fatal(err)
	}
	// Tokyo day D touches UTC days D-1 and D; stored pageviews and events
	// on those days: 10 (v5 and v6 included, the other site not).
	if r.Stored != 10 || r.SuppressedTotal() != 6 || r.Suppressed["dnt"] != 3 || r.Suppressed["gpc"] != 2 || r.Suppressed["no_consent"] != 1 {
		t.Errorf("privacy report %+v", r)
	}
	if !r.From.Equal(fx.D.AddDate(0, 0, -1)) || !r.To.Equal(fx.D) {
		t.Errorf("privacy days %v to %v", r.From, r.To)
	}
}

// FixtureGoals are goals of the fixture's site, for the goal tests here
// and in dashboards.
func FixtureGoals() []stats.Goal {
	return []stats.Goal{
		{Name: "Signup", Event: "Signup"},
		{Name: "Pricing visit", Page: "/pricing*"},
		{Name: "Docs", Page: "/d*s"},
		{Name: "Home", Page: "/"},
		{Name: "Purchase", Event: "Purchase"},
		{Name: "Dot is not a wildcard", Page: "/pricing."},
	}
}

func testStatsGoals(t *testing.T, e Inspector) {
	fx := seedStats(t, e)
	goals := func(label string, want [][2]uint64, wantBase uint64, filters ...stats.Filter) {
		t.Helper()
		q := fx.Query()
		q.Filters = filters
		rows, err := stats.Goals(ctx(t), e, q, FixtureGoals())
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if len(rows) != len(want) {
			t.Fatalf("%s: %d rows", label, len(rows))
		}
		for i, r := range rows {
			if r.Name != FixtureGoals()[i].Name || [2]uint64{r.Visitors, r.Conversions} != want[i] || r.BaseVisitors != wantBase {
				t.Errorf("%s: goal %s: visitors %d conversions %d of %d, want %v of %d", label, r.Name, r.Visitors, r.Conversions, r.BaseVisitors, want[i], wantBase)
			}
		}
	}
	// Day D: v1 v2 v3 v7. Signup: v1. /pricing: v1 (s1) and v3. /docs:
	// v3. "/": v1, v2, v7 (v2's engagement on / is not a pageview).
	all := [][2]uint64{{1, 1}, {2, 2}, {1, 1}, {3, 3}, {0, 0}, {0, 0}}
	goals("all", all, 4)
	// A goal filter does not change the goals' base.
	goals("event filter", all, 4, filter("event", stats.FilterIs, "Signup"))
	// Germany: v1 and v3.
	goals("DE", [][2]uint64{{1, 1}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, {0, 0}}, 2, filter("country", stats.FilterIs, "DE"))
	// Source lives on sessions: Google brought s1 (v1) and s3 (v3).
	goals("Google", [][2]uint64{{1, 1}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, {0, 0}}, 2, filter("source", stats.FilterIs, "Google"))

	r := stats.GoalRow{Visitors: 1, BaseVisitors: 4}
	if !near(r.ConversionRate(), 25) || !near(stats.GoalRow{}.ConversionRate(), 0) {
		t.Errorf("conversion rate %v", r.ConversionRate())
	}
	if _, err := stats.Goals(ctx(t), e, fx.Query(), []stats.Goal{{Name: "x"}}); err == nil {
		t.Error("a goal with neither event nor page was counted")
	}
}

// testStatsVisitProperties checks that a breakdown by a visit property
// counts the visit under its first hit's value, with the visit's own
// counters, even when a later hit of the visit carries another value (a
// visitor whose network moves them from Germany to France mid-visit), and
// that the visit's superseded state, until a merge folds it, does not
// count twice, under its country or under its exit page.
func testStatsVisitProperties(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2).Add(10 * time.Hour)
	hit := func(after time.Duration, path, country string, kind mote.Kind, name string) mote.Event {
		return mote.Event{SiteID: "roam", TS: start.Add(after), Kind: kind, Name: name, Hostname: "roam.example",
			Pathname: path, Country: country, Browser: "Firefox", Device: "mobile", VisitorID: 9, SessionID: 91}
	}
	events := []mote.Event{
		hit(0, "/", "DE", mote.KindPageview, ""),
		hit(time.Minute, "/pricing", "FR", mote.KindPageview, ""),
		hit(2*time.Minute, "/pricing", "FR", mote.KindEvent, "Signup"),
	}
	if err := e.InsertEvents(c, 1, events); err != nil {
		t.Fatal(err)
	}
	// What the collector's session cache writes for these hits: the first
	// state, then its cancel and the final state (first-touch country DE).
	first := mote.SessionRow{SiteID: "roam", SessionID: 91, VisitorID: 9, StartTS: start, EndTS: start,
		Hostname: "roam.example", EntryPage: "/", ExitPage: "/", Pageviews: 1, Bounce: 1,
		Country: "DE", Browser: "Firefox", Device: "mobile", Sign: 1, Version: 1}
	last := first
	last.EndTS, last.ExitPage, last.Pageviews, last.Events, last.Bounce, last.DurationS, last.Version =
		start.Add(2*time.Minute), "/pricing", 2, 1, 0, 120, 2
	storeUpdatedVisit(t, e, first, last)
	q := stats.Query{SiteID: "roam", From: start.Truncate(24 * time.Hour), To: start.Truncate(24*time.Hour).AddDate(0, 0, 1)}
	breakdown := func(dim string) []stats.BreakdownRow {
		t.Helper()
		q.Dimension = dim
		rows, err := stats.Breakdown(c, e, q)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	// The visit alone, under value: one visitor, one visit of 2 pageviews
	// and 1 event, not a bounce, 120 s.
	visitUnder := func(dim, value string) {
		t.Helper()
		rows := breakdown(dim)
		if len(rows) != 1 || rows[0].Value != value {
			t.Fatalf("%s rows %+v, want the visit under %s only", dim, rows, value)
		}
		checkStats(t, dim+" "+value, rows[0].Metrics, want{1, 1, 2, 1, 0, 120, 2, -1, -1, -1})
	}
	visitUnder("country", "DE")
	visitUnder("exit_page", "/pricing")
	// The page breakdown still counts hits where they happened.
	if rows := breakdown("page"); len(rows) != 2 || rows[0].Value != "/" || rows[1].Value != "/pricing" || rows[0].Pageviews != 1 || rows[1].Pageviews != 1 {
		t.Fatalf("page rows %+v, want / and /pricing with one pageview each", rows)
	}
}

// storeUpdatedVisit stores what the collector's session cache writes for a
// visit updated once: its first state, then (with more rows) that state's
// cancel and its last state. Two inserts, as two batches: within one block
// a server with optimize_on_insert would fold the pair at once.
func storeUpdatedVisit(t *testing.T, e Inspector, first, last mote.SessionRow, more ...mote.SessionRow) {
	t.Helper()
	cancel := first
	cancel.Sign = -1
	if err := storage.InsertSessionRows(ctx(t), e, []mote.SessionRow{first}); err != nil {
		t.Fatal(err)
	}
	if err := storage.InsertSessionRows(ctx(t), e, append([]mote.SessionRow{cancel, last}, more...)); err != nil {
		t.Fatal(err)
	}
}

// testStatsMidnightVisit: a visit that crosses midnight (UTC 23:50 to
// 00:10, one page view on each side, the visitor's id kept across
// midnight as the salt keeper allows) is a visit of both days and of both
// hours, so every day's and every hour's visitors had a visit in it; a
// visit of the second day alone counts there once.
func testStatsMidnightVisit(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3) // the first day; the visit starts at its 23:50
	start := day.Add(23*time.Hour + 50*time.Minute)
	pv := func(visitor, session uint64, at time.Time, path string) mote.Event {
		return mote.Event{SiteID: "night", TS: at, Kind: mote.KindPageview, Hostname: "night.example", Pathname: path,
			Country: "DE", Browser: "Firefox", Device: "desktop", VisitorID: visitor, SessionID: session}
	}
	later := day.AddDate(0, 0, 1).Add(10 * time.Hour)
	events := []mote.Event{pv(5, 51, start, "/"), pv(5, 51, start.Add(20*time.Minute), "/b"), pv(6, 61, later, "/")}
	if err := e.InsertEvents(c, 1, events); err != nil {
		t.Fatal(err)
	}
	first := mote.SessionRow{SiteID: "night", SessionID: 51, VisitorID: 5, StartTS: start, EndTS: start,
		Hostname: "night.example", EntryPage: "/", ExitPage: "/", Pageviews: 1, Bounce: 1,
		Country: "DE", Browser: "Firefox", Device: "desktop", Sign: 1, Version: 1}
	last := first
	last.EndTS, last.ExitPage, last.Pageviews, last.Bounce, last.DurationS, last.Version = start.Add(20*time.Minute), "/b", 2, 0, 1200, 2
	other := first
	other.SessionID, other.VisitorID, other.StartTS, other.EndTS = 61, 6, later, later
	storeUpdatedVisit(t, e, first, last, other)
	type counts struct{ visitors, visits, pageviews uint64 }
	got := func(m stats.Metrics) counts { return counts{m.Visitors, m.Visits, m.Pageviews} }
	q := func(from, to time.Time, iv stats.Interval) stats.Query {
		return stats.Query{SiteID: "night", From: from, To: to, Interval: iv}
	}
	for _, tc := range []struct {
		from, to time.Time
		want     counts
	}{
		{day, day.AddDate(0, 0, 1), counts{1, 1, 1}},
		{day.AddDate(0, 0, 1), day.AddDate(0, 0, 2), counts{2, 2, 2}},
		// A period's visitors and visits are the sum of its days': the
		// visit crossing midnight, and its visitor, count on both days.
		{day, day.AddDate(0, 0, 2), counts{3, 3, 3}},
	} {
		m, err := stats.Aggregate(c, e, q(tc.from, tc.to, ""))
		if err != nil {
			t.Fatal(err)
		}
		if g := got(m); g != tc.want {
			t.Errorf("aggregate %s to %s: %+v, want %+v", tc.from.Format(time.DateOnly), tc.to.Format(time.DateOnly), g, tc.want)
		}
	}
	series := func(from, to time.Time, iv stats.Interval, want map[time.Time]counts) {
		t.Helper()
		points, err := stats.Timeseries(c, e, q(from, to, iv))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range points {
			if g := got(p.Metrics); g != want[p.Start.UTC()] {
				t.Errorf("%s series, %s: %+v, want %+v", iv, p.Start.UTC().Format(time.DateTime), g, want[p.Start.UTC()])
			}
		}
	}
	series(day, day.AddDate(0, 0, 2), stats.IntervalDay, map[time.Time]counts{
		day: {1, 1, 1}, day.AddDate(0, 0, 1): {2, 2, 2},
	})
	series(day.Add(23*time.Hour), day.AddDate(0, 0, 1).Add(11*time.Hour), stats.IntervalHour, map[time.Time]counts{
		day.Add(23 * time.Hour): {1, 1, 1}, day.AddDate(0, 0, 1): {1, 1, 1}, later: {1, 1, 1},
	})
}
