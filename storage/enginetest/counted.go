package enginetest

import (
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/stats"
)

// countedSite is the site of the day counts' test, in the summaries'
// zone (summaryVisits lays its days out there).
var countedSite = mote.Site{ID: "counted", Timezone: summarySite.Timezone}

// testStatsCountedDays: the cards of the days around now (today and
// yesterday, not summarised), every breakdown's included, read from the
// day counts equal the same cards from the raw rows, when the rows came in three writes
// each counted by a new counter (a collector restarted twice: the second
// and third load the day's visitors from storage), the third holding
// returning visitors of the second and a visit crossing midnight from
// yesterday; the counts are what answers; and a day whose counts do not
// cover its stored rows is read raw.
func testStatsCountedDays(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	loc, _, today := siteNow(countedSite)
	yesterday := today.AddDate(0, 0, -1)
	dayStart := func(d time.Time) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc) }
	// The counters' clock: an hour into today, while yesterday is still
	// counted (its visits crossing midnight may go on).
	early := func() time.Time { return dayStart(today).Add(time.Hour) }
	storeVisitsAt(t, e, countedSite, 1, summaryVisits(yesterday, 2, 0), early)
	storeVisitsAt(t, e, countedSite, 2, summaryVisits(today, 1, 3), early)
	back := summaryVisits(today, 1, 3) // the same visitors, in new visits
	for i := range back {
		back[i].session += 50000
	}
	storeVisitsAt(t, e, countedSite, 3, back, early)

	q := stats.Query{SiteID: countedSite.ID, From: dayStart(yesterday), To: dayStart(today.AddDate(0, 0, 1)), Timezone: countedSite.Timezone}
	counted := func(d time.Time) bool {
		t.Helper()
		day := "toDate('" + d.Format(time.DateOnly) + "')"
		slots := queryUint(t, e, "SELECT sum(n) FROM daily_stats_slots WHERE site_id = 'counted' AND toDate(slot, '"+countedSite.Timezone+"') = "+day)
		counts := queryUint(t, e, "SELECT sum(n) FROM day_counts WHERE site_id = 'counted' AND dimension = '' AND day = "+day)
		return slots > 0 && slots == counts
	}
	for _, d := range []time.Time{yesterday, today} {
		if !counted(d) {
			t.Fatalf("%s: its counts do not cover its stored rows: the test would read it raw", d.Format(time.DateOnly))
		}
	}
	dims := append(stats.Dimensions(), "prop:plan", "prop:ref", "prop:none")
	check := func(label string) {
		t.Helper()
		same(t, label+": aggregate", func(q stats.Query) (any, error) { return stats.Aggregate(c, e, q) }, q)
		for _, iv := range []stats.Interval{stats.IntervalDay, stats.IntervalWeek} {
			q := q
			q.Interval = iv
			same(t, label+": "+string(iv)+" series", func(q stats.Query) (any, error) { return stats.Timeseries(c, e, q) }, q)
		}
		day := q
		day.From = dayStart(today)
		sameCards(t, e, label+", today", day, dims)
	}
	check("counted")

	raw := q
	raw.NoSummaries = true
	want, err := stats.Aggregate(c, e, raw)
	if err != nil {
		t.Fatal(err)
	}
	if want.Visitors == 0 || want.Visits < want.Visitors || want.Pageviews == 0 || want.Engagements == 0 || want.Bounces == 0 {
		t.Fatalf("raw aggregate %+v: the fixture lacks what the counts must add up", want)
	}
	// The counts answer: a row only day_counts holds (adding nothing to
	// n) shows in the counted read.
	err = e.InsertRowSQL(c, "INSERT INTO day_counts (site_id, tz, day, dimension, value, visitors)", countedSite.ID, countedSite.Timezone, today, "", "", uint64(1000))
	if err != nil {
		t.Fatal(err)
	}
	got, err := stats.Aggregate(c, e, q)
	if err != nil || got.Visitors != want.Visitors+1000 {
		t.Errorf("aggregate with a row only the counts hold: %d visitors (%v), want %d", got.Visitors, err, want.Visitors+1000)
	}
	// Counts that do not cover the day's rows (a crash between the two
	// writes, a repeated counts insert): the day is read raw.
	err = e.InsertRowSQL(c, "INSERT INTO day_counts (site_id, tz, day, dimension, value, n)", countedSite.ID, countedSite.Timezone, today, "", "", uint64(1))
	if err != nil {
		t.Fatal(err)
	}
	check("counts short of the rows")
	if got, err = stats.Aggregate(c, e, q); err != nil || got.Visitors != want.Visitors {
		t.Errorf("aggregate once today's counts fall short: %d visitors (%v), want %d", got.Visitors, err, want.Visitors)
	}
	// A query in another zone never reads them.
	other := q
	other.Timezone = "UTC"
	same(t, "another zone: aggregate", func(q stats.Query) (any, error) { return stats.Aggregate(c, e, q) }, other)
}
