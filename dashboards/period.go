package dashboards

import (
	"fmt"
	"net/url"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/stats"
)

// period is a reporting window in a site's time zone: From inclusive, To
// exclusive, both at local midnights, so that "a day" is the site owner's
// day, not UTC's.
type period struct {
	Name     string // day, yesterday, 7d, 30d, month, 6mo, 12mo, year, all, custom
	From, To time.Time
	Interval stats.Interval // the default bucket size for a chart of it
}

// days is the number of calendar days the period covers, counted on the
// calendar (not by stepping day by day: a custom period of 0001-01-01 to
// 9999-12-31 took seconds to refuse).
func (p period) days() int {
	utc := func(t time.Time) int64 {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
	}
	return int((utc(p.To) - utc(p.From)) / 86400)
}

// maxCustomDays caps a custom period (about ten years).
const maxCustomDays = 3700

// parsePeriod reads period, date, from and to. date (default: today in
// loc) anchors the named periods; 7d and 30d end with date (today
// included, as the dashboard's "last 7 days" shows today's visitors too),
// yesterday is the day before it, 6mo and 12mo are the calendar months
// up to and including date's (as Plausible's "last 6 months"), and all
// is everything the site's retention keeps: from the first of the month
// retention reaches back to (raw events older than that are deleted, so
// nothing older can be counted) to date. custom takes from and to, both
// inclusive dates.
func parsePeriod(v url.Values, loc *time.Location, now time.Time, retention time.Duration) (period, error) {
	y, m, d := now.In(loc).Date()
	date := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if s := v.Get("date"); s != "" {
		var err error
		if date, err = parseDate("date", s, loc); err != nil {
			return period{}, err
		}
	}
	p := period{Name: v.Get("period")}
	switch p.Name {
	case "", "30d":
		p.Name, p.From, p.To, p.Interval = "30d", date.AddDate(0, 0, -29), date.AddDate(0, 0, 1), stats.IntervalDay
	case "day":
		p.From, p.To, p.Interval = date, date.AddDate(0, 0, 1), stats.IntervalHour
	case "yesterday":
		p.From, p.To, p.Interval = date.AddDate(0, 0, -1), date, stats.IntervalHour
	case "6mo", "12mo":
		months := map[string]int{"6mo": 6, "12mo": 12}[p.Name]
		first := time.Date(date.Year(), date.Month(), 1, 0, 0, 0, 0, loc)
		p.From, p.To, p.Interval = first.AddDate(0, 1-months, 0), date.AddDate(0, 0, 1), stats.IntervalMonth
	case "all":
		if retention <= 0 {
			retention = mote.DefaultRetention
		}
		start := date.Add(-retention)
		p.From = time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, loc)
		p.To, p.Interval = date.AddDate(0, 0, 1), stats.IntervalMonth
	case "7d":
		p.From, p.To, p.Interval = date.AddDate(0, 0, -6), date.AddDate(0, 0, 1), stats.IntervalDay
	case "month":
		p.From = time.Date(date.Year(), date.Month(), 1, 0, 0, 0, 0, loc)
		p.To, p.Interval = p.From.AddDate(0, 1, 0), stats.IntervalDay
	case "year":
		p.From = time.Date(date.Year(), 1, 1, 0, 0, 0, 0, loc)
		p.To, p.Interval = p.From.AddDate(1, 0, 0), stats.IntervalMonth
	case "custom":
		var err error
		if p, err = customPeriod(v, loc); err != nil {
			return period{}, err
		}
	default:
		return period{}, fmt.Errorf("period: want day, yesterday, 7d, 30d, month, 6mo, 12mo, year, all or custom, got %q", p.Name)
	}
	if iv := v.Get("interval"); iv != "" {
		switch stats.Interval(iv) {
		case stats.IntervalHour, stats.IntervalDay, stats.IntervalWeek, stats.IntervalMonth:
			p.Interval = stats.Interval(iv)
		default:
			return period{}, fmt.Errorf("interval: want hour, day, week or month, got %q", iv)
		}
	}
	return p, nil
}

// parseDate reads the date parameter key in loc.
func parseDate(key, s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: want a date like 2026-03-01, got %q", key, s)
	}
	return t, nil
}

// customPeriod is period=custom: from and to, both inclusive dates, at
// most maxCustomDays apart; the interval follows the length.
func customPeriod(v url.Values, loc *time.Location) (period, error) {
	p := period{Name: "custom"}
	if v.Get("from") == "" || v.Get("to") == "" {
		return period{}, fmt.Errorf("period custom needs from and to")
	}
	from, err := parseDate("from", v.Get("from"), loc)
	if err != nil {
		return period{}, err
	}
	to, err := parseDate("to", v.Get("to"), loc)
	if err != nil {
		return period{}, err
	}
	if to.Before(from) {
		return period{}, fmt.Errorf("to %s is before from %s", v.Get("to"), v.Get("from"))
	}
	p.From, p.To = from, to.AddDate(0, 0, 1)
	switch n := p.days(); {
	case n > maxCustomDays:
		return period{}, fmt.Errorf("custom period of %d days, at most %d", n, maxCustomDays)
	case n == 1:
		p.Interval = stats.IntervalHour
	case n <= 92:
		p.Interval = stats.IntervalDay
	default:
		p.Interval = stats.IntervalMonth
	}
	return p, nil
}

// compared is the period a comparison sets beside p: the one just before
// it (the previous calendar month or year for those periods, else as
// many days right before), or the same dates a year earlier.
func compared(p period, mode string) (period, bool, error) {
	c := p
	switch mode {
	case "":
		return period{}, false, nil
	case "previous_period":
		switch p.Name {
		case "month":
			c.From, c.To = p.From.AddDate(0, -1, 0), p.From
		case "year":
			c.From, c.To = p.From.AddDate(-1, 0, 0), p.From
		case "6mo":
			c.From, c.To = p.From.AddDate(0, -6, 0), p.From
		case "12mo":
			c.From, c.To = p.From.AddDate(0, -12, 0), p.From
		default:
			c.From, c.To = p.From.AddDate(0, 0, -p.days()), p.From
		}
	case "year_over_year":
		c.From, c.To = p.From.AddDate(-1, 0, 0), p.To.AddDate(-1, 0, 0)
	default:
		return period{}, false, fmt.Errorf("compare: want previous_period or year_over_year, got %q", mode)
	}
	return c, true, nil
}
