package enginetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/stats"
)

// prefixSite is the site of the day prefix test, in a zone whose midnight
// is not UTC's.
var prefixSite = mote.Site{ID: "prefix", Timezone: "Europe/Berlin"}

// testStatsDayPrefix: an unsettled day ("today") is read from its prefix
// summary and the hits since, and every card equals the raw rows' answer:
// right after the prefix is built; once visitors of the morning come back
// after its end (on pages they saw and pages they did not) and new ones
// arrive; after a late hit for the morning (the prefix is stale: raw rows
// answer) and after the prefix is rebuilt; when its end moves on; and
// once the day is summarised whole. Periods: the day, two days, the day
// up to now, a period ending before the prefix does, another zone. And
// the prefix is really what answers.
func testStatsDayPrefix(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	loc, _ := time.LoadLocation(prefixSite.Timezone)
	n := time.Now().In(loc)
	day := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -10)
	start := func(d time.Time) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc) }
	morning := summaryVisits(day.AddDate(0, 0, -1), 2, 0) // the day before (its visit crossing midnight too) and the day
	storeVisits(t, e, prefixSite, 1, morning)

	now := start(day).Add(14*time.Hour + 5*time.Minute)
	s := &stats.Summarizer{DB: e, Sites: []mote.Site{prefixSite}, Now: func() time.Time { return now }}
	pass := func(stage string) {
		t.Helper()
		if _, err := s.Pass(c); err != nil {
			t.Fatalf("%s: pass: %v", stage, err)
		}
	}
	dims := append(stats.Dimensions(), "prop:plan", "prop:ref", "prop:none")
	compare := func(stage string) {
		t.Helper()
		for _, p := range []struct {
			name     string
			from, to time.Time
			tz       string
		}{
			{"the day", start(day), start(day.AddDate(0, 0, 1)), prefixSite.Timezone},
			{"two days", start(day.AddDate(0, 0, -1)), start(day.AddDate(0, 0, 1)), prefixSite.Timezone},
			{"the day until now", start(day), now, prefixSite.Timezone},
			{"ending before the prefix", start(day), start(day).Add(13*time.Hour + 30*time.Minute), prefixSite.Timezone},
			{"UTC", day, day.AddDate(0, 0, 1), "UTC"},
		} {
			sameCards(t, e, fmt.Sprintf("%s, %s", stage, p.name), stats.Query{SiteID: prefixSite.ID, From: p.from, To: p.to, Timezone: p.tz}, dims)
		}
	}
	dayLit := "'" + day.Format(time.DateOnly) + "'"
	prefixes := func() (records, gens uint64, until time.Time) {
		t.Helper()
		var err error
		if records, err = e.QueryUint(c, "SELECT count() FROM daily_stats_prefixes WHERE site_id = 'prefix' AND day = "+dayLit); err != nil {
			t.Fatal(err)
		}
		if gens, err = e.QueryUint(c, "SELECT uniqExact(gen) FROM daily_stats WHERE site_id = 'prefix' AND day = "+dayLit); err != nil {
			t.Fatal(err)
		}
		rows, err := e.QuerySQL(c, "SELECT max(until_ts) FROM daily_stats_prefixes WHERE site_id = 'prefix' AND day = "+dayLit)
		if err != nil || len(rows.Values) != 1 {
			t.Fatalf("prefix end: %v", err)
		}
		if err := rows.Scan(0, &until); err != nil {
			t.Fatal(err)
		}
		return records, gens, until
	}
	// A pass has built the n-th prefix of the day, ending at until (the
	// superseded ones are kept until the day is summarised whole).
	built := func(stage string, n uint64, until time.Time) {
		t.Helper()
		records, gens, got := prefixes()
		if records != n || gens != n || !got.Equal(until) {
			t.Fatalf("%s: %d prefix records, %d generations of rows, the latest ending %s; want %d, ending %s", stage, records, gens, got, n, until)
		}
	}

	pass("first pass")
	built("first pass", 1, start(day).Add(14*time.Hour))
	compare("prefix built")

	// After the prefix's end: visitors of the morning come back, to a
	// page they saw and to one nobody saw, with an event; new visitors.
	var after []visit
	for i, v := range morning[12:18] { // the day's own visits
		v.session += 500000
		v.start = start(day).Add(14*time.Hour + time.Duration(2+i)*time.Minute)
		v.hits = []hit{{kind: mote.KindPageview, path: v.entry}, {after: time.Minute, kind: mote.KindPageview, path: "/new"},
			{after: 2 * time.Minute, kind: mote.KindEvent, path: "/new", name: "Signup", props: [2]string{"plan", "pro"}}}
		v.exit, v.pageviews, v.duration, v.bounce, v.superseded = "/new", 2, 120, 0, false
		after = append(after, v)
	}
	for _, v := range summaryVisits(day, 1, 3)[:4] {
		v.start = start(day).Add(14*time.Hour + 30*time.Minute)
		after = append(after, v)
	}
	storeVisits(t, e, prefixSite, 2, after)
	pass("pass after the tail's hits")
	built("pass after the tail's hits (its tail: no rebuild)", 1, start(day).Add(14*time.Hour))
	compare("tail stored")

	// A late hit for the morning (a replay): the prefix is stale, and
	// raw rows answer until it is rebuilt.
	late := summaryVisits(day, 1, 5)[:1]
	late[0].start = start(day).Add(9 * time.Hour)
	storeVisits(t, e, prefixSite, 3, late)
	compare("late hit stored")
	pass("pass after the late hit")
	built("pass after the late hit", 2, start(day).Add(14*time.Hour))
	compare("late hit summarised")

	// Time goes on: the prefix ends at the next slot.
	now = now.Add(15 * time.Minute)
	pass("pass a quarter-hour later")
	built("pass a quarter-hour later", 3, start(day).Add(14*time.Hour+15*time.Minute))
	compare("prefix moved on")

	// The prefix answers: a row only its summary holds shows up in the
	// day's read, and not in the raw one.
	gen, err := e.QueryUint(c, "SELECT max(gen) FROM daily_stats_prefixes WHERE site_id = 'prefix' AND day = "+dayLit)
	if err != nil || gen == 0 {
		t.Fatalf("prefix generation: %d, %v", gen, err)
	}
	err = e.InsertRowSQL(c, "INSERT INTO daily_stats (site_id, dimension, day, gen, value, visitors, pageviews)", "prefix", "page", day, gen, "/only-in-prefix", uint64(1000), uint64(1))
	if err != nil {
		t.Fatal(err)
	}
	q := stats.Query{SiteID: prefixSite.ID, From: start(day), To: start(day.AddDate(0, 0, 1)), Timezone: prefixSite.Timezone, Dimension: "page", Limit: 1}
	rows, err := stats.Breakdown(c, e, q)
	if err != nil || len(rows) != 1 || rows[0].Value != "/only-in-prefix" {
		t.Errorf("top page with the prefix: %+v, %v; want the row only the prefix holds", rows, err)
	}
	q.NoSummaries = true
	if rows, err = stats.Breakdown(c, e, q); err != nil || len(rows) != 1 || rows[0].Value == "/only-in-prefix" {
		t.Errorf("top page from raw rows: %+v, %v", rows, err)
	}

	// The day ends and settles: its whole summary replaces the prefixes
	// (and the row above), which are deleted (a mutation: waited for).
	now = start(day.AddDate(0, 0, 1)).Add(2 * time.Hour)
	pass("pass the next day")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		records, gens, _ := prefixes()
		if records == 0 && gens == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the day summarised whole keeps %d prefix records and %d generations of rows", records, gens)
		}
	}
	compare("summarised whole")
}
