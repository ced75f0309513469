package enginetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/stats"
)

// testStatsSampling: a filtered card over more stored rows than
// Query.SampleAbove reads 1 in N visitors and scales its counts up by N,
// and says so. The sample is checked exactly, not within a tolerance: the
// same visits are stored under a second site that holds only the
// sampled visitors (ids below 2^64/N), and every card of the first site
// must equal N times that site's exact card, ratios unchanged. Unfiltered
// cards, cards under the threshold and exact ones are never sampled.
func testStatsSampling(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	loc, _ := time.LoadLocation(summarySite.Timezone)
	first := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	visits := summaryVisits(first, 5, 0)
	// Visitor ids are keyed hashes, uniform over 64 bits.
	rng := rand.New(rand.NewPCG(19, 3))
	for i := range visits {
		visits[i].visitor = rng.Uint64()
	}
	storeVisits(t, e, mote.Site{ID: "whole"}, 1, visits)
	stored := queryUint(t, e, "SELECT sum(n) FROM daily_stats_slots WHERE site_id = 'whole'")
	above := stored/3 + 1
	oneIn := (stored + above - 1) / above
	if oneIn < 2 {
		t.Fatalf("%d stored rows over %d give no sample", stored, above)
	}
	var sampled []visit
	for _, v := range visits {
		if v.visitor < math.MaxUint64/oneIn {
			sampled = append(sampled, v)
		}
	}
	if len(sampled) == 0 || len(sampled) == len(visits) {
		t.Fatalf("%d of %d visits in a 1 in %d sample: the test checks nothing", len(sampled), len(visits), oneIn)
	}
	storeVisits(t, e, mote.Site{ID: "sample"}, 2, sampled)

	period := stats.Query{From: time.Date(2026, 3, 2, 0, 0, 0, 0, loc), To: time.Date(2026, 3, 7, 0, 0, 0, 0, loc),
		Timezone: summarySite.Timezone, SampleAbove: above}
	// estimated reads q on the whole site (sampled) and on the sample's
	// site (exactly), and wants the first to be oneIn times the second.
	estimated := func(label string, read func(stats.Query) (any, error), q stats.Query) {
		t.Helper()
		q.SiteID = "whole"
		got, err := read(q)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		q.SiteID, q.Exact = "sample", true
		exact, err := read(q)
		if err != nil {
			t.Fatalf("%s, sample site: %v", label, err)
		}
		if want := scaled(exact, oneIn); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nsampled        %+v\n%d x the sample %+v", label, got, oneIn, want)
		}
	}
	for _, filters := range [][]stats.Filter{
		{filter("country", stats.FilterIs, "DE")},
		{filter("country", stats.FilterIsNot, "FR"), filter("source", stats.FilterIs, "Google", "")},
		{filter("exit_page", stats.FilterContains, "p")},
		{filter("page", stats.FilterIs, "/pricing")},
	} {
		q := period
		q.Filters = filters
		label := fmt.Sprintf("filters %v", filters)
		estimated(label+": aggregate", func(q stats.Query) (any, error) { return stats.Aggregate(c, e, q) }, q)
		for _, iv := range []stats.Interval{stats.IntervalHour, stats.IntervalDay, stats.IntervalWeek} {
			q := q
			q.Interval = iv
			estimated(label+": "+string(iv)+" series", func(q stats.Query) (any, error) { return stats.Timeseries(c, e, q) }, q)
		}
		for _, dim := range append(stats.Dimensions(), "prop:plan") {
			q := q
			q.Dimension, q.Limit = dim, stats.MaxBreakdownLimit
			if dim == "city" || dim == "region" {
				q.KAnonymity = 2
			}
			estimated(label+": breakdown by "+dim, func(q stats.Query) (any, error) { return stats.Breakdown(c, e, q) }, q)
		}
		goals := []stats.Goal{{Name: "Signup", Event: "Signup"}, {Name: "Pricing", Page: "/pricing*"}}
		estimated(label+": goals", func(q stats.Query) (any, error) { return stats.Goals(c, e, q, goals) }, q)
		q.Filters = append(q.Filters, filter("event", stats.FilterIs, "Signup"))
		estimated(label+": goal aggregate", func(q stats.Query) (any, error) { return stats.Aggregate(c, e, q) }, q)
	}

	// Never sampled: without filters, under the threshold, or exact.
	q := period
	q.SiteID = "whole"
	exact := func(label string, q stats.Query) {
		t.Helper()
		m, err := stats.Aggregate(c, e, q)
		if err != nil {
			t.Fatal(err)
		}
		if m.SampleOneIn != 0 {
			t.Errorf("%s: sampled 1 in %d", label, m.SampleOneIn)
		}
		q.Exact, q.SampleAbove = true, 0
		if want, err := stats.Aggregate(c, e, q); err != nil || !reflect.DeepEqual(m, want) {
			t.Errorf("%s: %+v, want the exact %+v (%v)", label, m, want, err)
		}
	}
	exact("no filter", q)
	q.Filters = []stats.Filter{filter("country", stats.FilterIs, "DE")}
	q.SampleAbove = stored
	exact("at the threshold", q)
	q.SampleAbove = above
	q.Exact = true
	exact("exact", q)
}

// scaled is a card's answer with every count multiplied by n and marked
// as sampled 1 in n.
func scaled(answer any, n uint64) any {
	scale := func(m stats.Metrics) stats.Metrics {
		for _, c := range []*uint64{&m.Visitors, &m.Pageviews, &m.Events, &m.Visits, &m.Bounces, &m.DurationS,
			&m.SessionPageviews, &m.Engagements, &m.EngagementMS, &m.ScrollSum, &m.BaseVisitors} {
			*c *= n
		}
		m.SampleOneIn = n
		return m
	}
	switch a := answer.(type) {
	case stats.Metrics:
		return scale(a)
	case []stats.Point:
		return each(a, func(p stats.Point) stats.Point { p.Metrics = scale(p.Metrics); return p })
	case []stats.BreakdownRow:
		return each(a, func(r stats.BreakdownRow) stats.BreakdownRow { r.Metrics = scale(r.Metrics); return r })
	case []stats.GoalRow:
		return each(a, func(g stats.GoalRow) stats.GoalRow {
			g.Visitors, g.Conversions, g.BaseVisitors, g.SampleOneIn = n*g.Visitors, n*g.Conversions, n*g.BaseVisitors, n
			return g
		})
	}
	panic(fmt.Sprintf("scaled: %T", answer))
}

// each is a copied with f applied to every element (nil stays nil).
func each[T any](a []T, f func(T) T) []T {
	if a == nil {
		return nil
	}
	out := make([]T, len(a))
	for i, x := range a {
		out[i] = f(x)
	}
	return out
}
