package dashboards

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote/storage/stats"
)

// TestParsePeriod: each named period's first and last day (inclusive) and
// its chart interval, in the site's zone, on a clock at 01:30 UTC on
// 2026-03-01, which is still 2026-02-28 in New York (the site's day wins).
func TestParsePeriod(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 1, 30, 0, 0, time.UTC)
	f := func(query, wantFrom, wantTo string, wantIv stats.Interval, retention time.Duration) {
		t.Helper()
		v, _ := url.ParseQuery(query)
		p, err := parsePeriod(v, loc, now, retention)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		from, to := p.From.Format(time.DateOnly), p.To.AddDate(0, 0, -1).Format(time.DateOnly)
		if from != wantFrom || to != wantTo || p.Interval != wantIv {
			t.Errorf("%s: %s..%s by %s, want %s..%s by %s", query, from, to, p.Interval, wantFrom, wantTo, wantIv)
		}
		if p.From.Location() != loc || p.From.Hour() != 0 || p.To.Hour() != 0 {
			t.Errorf("%s: bounds %v, %v are not local midnights", query, p.From, p.To)
		}
	}
	f("period=day", "2026-02-28", "2026-02-28", stats.IntervalHour, 0)
	f("period=yesterday", "2026-02-27", "2026-02-27", stats.IntervalHour, 0)
	f("period=yesterday&date=2026-03-01", "2026-02-28", "2026-02-28", stats.IntervalHour, 0)
	f("period=7d", "2026-02-22", "2026-02-28", stats.IntervalDay, 0)
	f("", "2026-01-30", "2026-02-28", stats.IntervalDay, 0)
	f("period=month", "2026-02-01", "2026-02-28", stats.IntervalDay, 0)
	f("period=6mo", "2025-09-01", "2026-02-28", stats.IntervalMonth, 0)
	f("period=12mo", "2025-03-01", "2026-02-28", stats.IntervalMonth, 0)
	f("period=12mo&date=2026-12-31", "2026-01-01", "2026-12-31", stats.IntervalMonth, 0)
	f("period=year", "2026-01-01", "2026-12-31", stats.IntervalMonth, 0)
	// all: back to the first of the month the retention reaches (25 x 30
	// days by default: 2024-02-08), or the site's own retention.
	f("period=all", "2024-02-01", "2026-02-28", stats.IntervalMonth, 0)
	f("period=all", "2025-11-01", "2026-02-28", stats.IntervalMonth, 90*24*time.Hour)
	f("period=custom&from=2026-01-05&to=2026-01-05", "2026-01-05", "2026-01-05", stats.IntervalHour, 0)
	f("period=custom&from=2026-01-05&to=2026-02-10", "2026-01-05", "2026-02-10", stats.IntervalDay, 0)
	f("period=custom&from=2025-01-05&to=2026-02-10", "2025-01-05", "2026-02-10", stats.IntervalMonth, 0)
	f("period=6mo&interval=week", "2025-09-01", "2026-02-28", stats.IntervalWeek, 0)

	for _, q := range []string{"period=5mo", "period=custom&from=2026-01-05", "period=custom&from=2026-02-05&to=2026-01-05",
		"period=custom&from=1990-01-01&to=2026-01-01", "period=day&date=yesterday", "period=day&interval=minute"} {
		v, _ := url.ParseQuery(q)
		if _, err := parsePeriod(v, loc, now, 0); err == nil {
			t.Errorf("%s: no error", q)
		}
	}
	v, _ := url.ParseQuery("period=decade")
	if _, err := parsePeriod(v, loc, now, 0); err == nil || !strings.Contains(err.Error(), "yesterday") || !strings.Contains(err.Error(), "all") {
		t.Errorf("the error lists the periods: %v", err)
	}
}

// TestComparedPeriods: previous_period sets the same length just before
// (calendar months for month, 6mo, 12mo and year), year_over_year the
// same dates a year earlier.
func TestComparedPeriods(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	f := func(query, mode, wantFrom, wantTo string) {
		t.Helper()
		v, _ := url.ParseQuery(query)
		p, err := parsePeriod(v, time.UTC, now, 0)
		if err != nil {
			t.Fatal(err)
		}
		c, ok, err := compared(p, mode)
		if err != nil || !ok {
			t.Fatalf("%s %s: %v %v", query, mode, ok, err)
		}
		from, to := c.From.Format(time.DateOnly), c.To.AddDate(0, 0, -1).Format(time.DateOnly)
		if from != wantFrom || to != wantTo {
			t.Errorf("%s %s: %s..%s, want %s..%s", query, mode, from, to, wantFrom, wantTo)
		}
	}
	f("period=yesterday", "previous_period", "2026-03-08", "2026-03-08")
	f("period=7d", "previous_period", "2026-02-25", "2026-03-03")
	f("period=month", "previous_period", "2026-02-01", "2026-02-28")
	f("period=6mo", "previous_period", "2025-04-01", "2025-09-30")
	f("period=12mo", "previous_period", "2024-04-01", "2025-03-31")
	f("period=6mo", "year_over_year", "2024-10-01", "2025-03-10")
	f("period=custom&from=2026-03-01&to=2026-03-05", "previous_period", "2026-02-24", "2026-02-28")
}

// FuzzParsePeriod: any period, date, from, to and interval either fail
// with an error or give a window of whole local days, From before To,
// at most maxCustomDays long for a custom one.
func FuzzParsePeriod(f *testing.F) {
	for _, s := range [][5]string{{"day", "", "", "", ""}, {"yesterday", "2026-03-01", "", "", ""}, {"6mo", "", "", "", "week"},
		{"all", "2026-12-31", "", "", ""}, {"custom", "", "2026-01-01", "2026-02-01", ""}, {"custom", "", "0001-01-01", "9999-12-31", ""}} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC) // the day New York moves its clocks
	f.Fuzz(func(t *testing.T, name, date, from, to, iv string) {
		v := url.Values{"period": {name}, "date": {date}, "from": {from}, "to": {to}, "interval": {iv}}
		p, err := parsePeriod(v, loc, now, 0)
		if err != nil {
			return
		}
		if !p.From.Before(p.To) || p.From.Hour() != 0 || p.To.Hour() != 0 || p.From.Location() != loc {
			t.Fatalf("%v: window %v .. %v", v, p.From, p.To)
		}
		if p.Name == "custom" && p.days() > maxCustomDays {
			t.Fatalf("%v: %d days", v, p.days())
		}
	})
}
