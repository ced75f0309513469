package enginetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

// summarySite is the site of the summaries test: a zone with daylight
// saving and a non-UTC midnight, so site days and UTC days differ.
var summarySite = mote.Site{ID: "daily", Timezone: "Europe/Berlin"}

// summaryVisits builds visits over the Berlin days first .. first+n-1:
// per day a dozen visitors with every dimension varied, custom events
// with properties (some with two keys, one without any), engagement,
// superseded visit states (their exit page changes), and one visit that
// crosses the site's midnight into the next day. seed varies the values,
// so that a second call adds other hits to the same days.
func summaryVisits(first time.Time, n int, seed uint64) []visit {
	loc, _ := time.LoadLocation(summarySite.Timezone)
	pages := []string{"/", "/pricing", "/docs", "/blog", "/about"}
	sources := [][2]string{{"Google", "search"}, {"", "direct"}, {"Twitter", "social"}, {"Newsletter", "email"}}
	places := [][2]string{{"DE-BE", "Berlin"}, {"FR-IDF", "Paris"}, {"NL-NH", "Amsterdam"}, {"DE-BY", "Munich"}}
	agents := [][3]string{{"Chrome", "Windows", "desktop"}, {"Firefox", "Linux", "desktop"}, {"Safari", "iOS", "mobile"}}
	var out []visit
	for di := 0; di < n; di++ {
		day := first.AddDate(0, 0, di)
		start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
		for v := uint64(0); v < 12; v++ {
			k := v + seed
			id := seed*100000 + uint64(di)*1000 + v + 1
			at := start.Add(time.Duration(30+(k*97)%1380) * time.Minute)
			if v == 11 { // crosses midnight into the next day
				at = start.Add(23*time.Hour + 50*time.Minute)
			}
			src, place, agent := sources[k%4], places[k%4], agents[k%3]
			vi := visit{visitor: id, session: id, start: at, source: src[0], channel: src[1],
				region: place[0], city: place[1], browser: agent[0], os: agent[1], device: agent[2]}
			if k%4 == 3 {
				vi.utm = [3]string{"newsletter", "email", fmt.Sprintf("c%d", k%2)}
			}
			views := 1 + int(k%3)
			if v == 11 {
				views = 3
			}
			for i := 0; i < views; i++ {
				vi.hits = append(vi.hits, hit{after: time.Duration(i) * 10 * time.Minute, kind: mote.KindPageview, path: pages[(int(k)+i)%len(pages)]})
			}
			last := time.Duration(views-1) * 10 * time.Minute
			if k%2 == 0 {
				last += time.Minute
				vi.hits = append(vi.hits, hit{after: last, kind: mote.KindEngagement, path: pages[int(k)%len(pages)], ms: uint32(1000 * (k + 3)), depth: uint8(10 * (k%9 + 1))})
			}
			if k%3 != 1 {
				last += time.Minute
				h := hit{after: last, kind: mote.KindEvent, path: "/pricing", name: []string{"Signup", "Download"}[k%2]}
				if k%3 == 0 {
					h.props = [2]string{"plan", []string{"pro", "free"}[k%2]}
				}
				vi.hits = append(vi.hits, h)
			}
			vi.entry, vi.exit = vi.hits[0].path, pages[(int(k)+views-1)%len(pages)]
			vi.pageviews, vi.duration = uint32(views), uint32(last/time.Second)
			if views == 1 && k%2 == 1 {
				vi.bounce = 1
			}
			vi.superseded = views > 1
			out = append(out, vi)
		}
	}
	return out
}

// storeSummaryVisits inserts visits of the summaries' site under batch
// and marks their days changed and counts them, as the Batcher would.
func storeSummaryVisits(t *testing.T, e Inspector, batch uint64, visits []visit) {
	t.Helper()
	storeVisits(t, e, summarySite, batch, visits)
}

// storeVisits is storeSummaryVisits for any site.
func storeVisits(t *testing.T, e Inspector, site mote.Site, batch uint64, visits []visit) {
	t.Helper()
	storeVisitsAt(t, e, site, batch, visits, nil)
}

// storeVisitsAt is storeVisits with now as the day counts' clock (nil:
// time.Now).
func storeVisitsAt(t *testing.T, e Inspector, site mote.Site, batch uint64, visits []visit, now func() time.Time) {
	t.Helper()
	var events []mote.Event
	var rows []mote.SessionRow
	for _, v := range visits {
		events = append(events, v.events(site.ID)...)
		rows = append(rows, v.sessionRows(site.ID)...)
	}
	// One more property key on some events, and an event without any.
	for i := range events {
		if events[i].Kind == mote.KindEvent && len(events[i].PropKeys) == 1 && i%2 == 0 {
			events[i].PropKeys, events[i].PropValues = append(events[i].PropKeys, "ref"), append(events[i].PropValues, "ad")
		}
	}
	c := ctx(t)
	days := storage.NewDayCounter([]mote.Site{site}, now)
	err := days.CountStored(c, e, events, rows, func() error {
		if err := storage.InsertSessionRows(c, e, rows); err != nil {
			return err
		}
		return e.InsertEvents(c, batch, events)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.MarkChanges(c, e, events, rows); err != nil {
		t.Fatal(err)
	}
}

// siteNow is site's zone, now in it, and today there (a UTC midnight, as
// the summaries name days).
func siteNow(site mote.Site) (loc *time.Location, now, today time.Time) {
	loc, _ = time.LoadLocation(site.Timezone)
	now = time.Now().In(loc)
	return loc, now, time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
}

// testStatsSummaries: every card read with the summaries of finished days
// equals the same card read from the raw rows alone, before the days are
// summarised, after, once late hits have changed a summarised day (before
// and after it is summarised again), for whole and partial days, another
// time zone, filters, and every breakdown dimension; and the summaries
// are really what answers.
func testStatsSummaries(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	loc, now, today := siteNow(summarySite)
	first := today.AddDate(0, 0, -4)
	storeSummaryVisits(t, e, 1, summaryVisits(first, 5, 0)) // four finished days and today

	dayStart := func(d time.Time) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc) }
	periods := []struct {
		name     string
		from, to time.Time
		tz       string
	}{
		{"all days", dayStart(first), dayStart(today.AddDate(0, 0, 1)), summarySite.Timezone},
		{"partial first day", dayStart(first).Add(13 * time.Hour), dayStart(today.AddDate(0, 0, 1)), summarySite.Timezone},
		{"UTC", first, today, "UTC"},
	}
	dims := append(stats.Dimensions(), "prop:plan", "prop:ref", "prop:none")
	compare := func(stage string) {
		t.Helper()
		for _, p := range periods {
			base := stats.Query{SiteID: summarySite.ID, From: p.from, To: p.to, Timezone: p.tz}
			sameCards(t, e, fmt.Sprintf("%s, %s", stage, p.name), base, dims)
		}
	}

	s := &stats.Summarizer{DB: e, Sites: []mote.Site{summarySite}, Settle: time.Nanosecond, Now: func() time.Time { return now }}
	n, err := s.Pass(c)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("first pass summarised %d days, want the 4 finished ones", n)
	}
	if p := s.Progress(); p.Pending != 0 || p.Built != 4 {
		t.Errorf("progress %+v after the first pass, want none pending and 4 built", p)
	}
	if n, err := s.Pass(c); err != nil || n != 0 {
		t.Errorf("second pass summarised %d days (%v), want 0: nothing changed", n, err)
	}
	compare("summarised")

	// Late hits for a summarised day: a replay after an outage.
	late := first.AddDate(0, 0, 1)
	storeSummaryVisits(t, e, 2, summaryVisits(late, 1, 7))
	compare("late hits stored")
	if n, err := s.Pass(c); err != nil || n != 2 {
		t.Errorf("pass after late hits summarised %d days (%v), want the 2 changed (the day, and the next, where its midnight visit ends)", n, err)
	}
	compare("late hits summarised")
	// The rebuilt day's older generation is deleted (a mutation, which
	// runs in the background).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		gens, err := e.QueryUint(c, "SELECT uniqExact(gen) FROM daily_stats WHERE site_id = 'daily' AND day = '"+late.Format(time.DateOnly)+"'")
		if err != nil {
			t.Fatal(err)
		}
		done, err := e.QueryUint(c, "SELECT count() FROM daily_stats_done WHERE site_id = 'daily' AND day = '"+late.Format(time.DateOnly)+"'")
		if err != nil {
			t.Fatal(err)
		}
		if gens == 1 && done == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rebuilt day keeps %d generations of rows and %d records", gens, done)
		}
	}

	// The summaries answer: a row only daily_stats holds shows up in the
	// summarised read and not in the raw one.
	var gen uint64
	gen, err = e.QueryUint(c, "SELECT max(gen) FROM daily_stats_done WHERE site_id = 'daily' AND day = '"+first.Format(time.DateOnly)+"'")
	if err != nil || gen == 0 {
		t.Fatalf("generation of %s: %d, %v", first.Format(time.DateOnly), gen, err)
	}
	err = e.InsertRowSQL(c, "INSERT INTO daily_stats (site_id, dimension, day, gen, value, visitors, pageviews)", "daily", "page", first, gen, "/only-in-summary", uint64(1000), uint64(1))
	if err != nil {
		t.Fatal(err)
	}
	q := stats.Query{SiteID: summarySite.ID, From: dayStart(first), To: dayStart(today), Timezone: summarySite.Timezone, Dimension: "page", Limit: 1}
	rows, err := stats.Breakdown(c, e, q)
	if err != nil || len(rows) != 1 || rows[0].Value != "/only-in-summary" {
		t.Errorf("top page with summaries: %+v, %v; want the row only the summary holds", rows, err)
	}
	q.NoSummaries = true
	if rows, err = stats.Breakdown(c, e, q); err != nil || len(rows) != 1 || rows[0].Value == "/only-in-summary" {
		t.Errorf("top page from raw rows: %+v, %v", rows, err)
	}
}

// sameCards fails t unless every unfiltered card of q's period (the
// aggregate, day, week and month series, a breakdown by each of dims and
// the top 2 pages, and the goal aggregate, whose base is unfiltered) is
// the same with summaries as from raw rows alone. (A filtered card always
// reads raw rows.)
func sameCards(t *testing.T, e Inspector, label string, q stats.Query, dims []string) {
	t.Helper()
	c := ctx(t)
	same(t, label+": aggregate", func(q stats.Query) (any, error) { return stats.Aggregate(c, e, q) }, q)
	for _, iv := range []stats.Interval{stats.IntervalDay, stats.IntervalWeek, stats.IntervalMonth} {
		q := q
		q.Interval = iv
		same(t, label+": "+string(iv)+" series", func(q stats.Query) (any, error) { return stats.Timeseries(c, e, q) }, q)
	}
	for _, dim := range dims {
		q := q
		q.Dimension, q.Limit = dim, stats.MaxBreakdownLimit
		if dim == "city" {
			q.KAnonymity = 3
		}
		same(t, label+": breakdown by "+dim, func(q stats.Query) (any, error) { return stats.Breakdown(c, e, q) }, q)
	}
	q.Dimension, q.Limit = "page", 2
	same(t, label+": top 2 pages", func(q stats.Query) (any, error) { return stats.Breakdown(c, e, q) }, q)
	q.Filters = append(q.Filters, filter("event", stats.FilterIs, "Signup"))
	q.Dimension, q.Limit = "", 0
	same(t, label+": goal aggregate", func(q stats.Query) (any, error) { return stats.Aggregate(c, e, q) }, q)
}

// same fails t unless read gives the same answer with the summaries and
// from the raw rows alone.
func same(t *testing.T, label string, read func(stats.Query) (any, error), q stats.Query) {
	t.Helper()
	q.NoSummaries = false
	got, err := read(q)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	q.NoSummaries = true
	want, err := read(q)
	if err != nil {
		t.Fatalf("%s from raw rows: %v", label, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\nwith summaries %+v\nraw rows       %+v", label, got, want)
	}
}
