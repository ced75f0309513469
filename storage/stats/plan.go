package stats

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// FilterOp is how a filter compares a dimension with its values.
type FilterOp string

const (
	FilterIs          FilterOp = "is"           // equal to one of the values
	FilterIsNot       FilterOp = "is_not"       // equal to none of them
	FilterContains    FilterOp = "contains"     // contains one of them, ignoring case
	FilterNotContains FilterOp = "not_contains" // contains none of them
)

// Filter restricts a query to hits (or visits) whose Dimension compares
// with Values as Op says.
type Filter struct {
	Dimension string
	Op        FilterOp
	Values    []string
}

// dimension says where a breakdown or filter dimension lives. Session
// attributes (entry and exit page, first-touch source and campaign) are
// columns of sessions only: events reach them through their session_id.
// Page, event name, props and versions are columns of events only:
// sessions reach them through the session ids of matching events. Geo and
// device are in both.
type dimension struct {
	event   string // expression on events, or ""
	session string // expression on sessions, or ""
	kind    string // a condition breakdowns add: which kinds of hits count
}

var dimensions = map[string]dimension{
	"page":            {event: "pathname", kind: "kind IN ('pageview', 'engagement')"},
	"hostname":        {event: "hostname", session: "hostname"},
	"entry_page":      {session: "entry_page"},
	"exit_page":       {session: "exit_page"},
	"source":          {session: "referrer_source"},
	"referrer":        {session: "referrer_host"},
	"channel":         {session: "channel"},
	"utm_source":      {session: "utm_source"},
	"utm_medium":      {session: "utm_medium"},
	"utm_campaign":    {session: "utm_campaign"},
	"utm_term":        {session: "utm_term"},
	"utm_content":     {session: "utm_content"},
	"country":         {event: "country", session: "country"},
	"region":          {event: "region", session: "region"},
	"city":            {event: "city", session: "city"},
	"browser":         {event: "browser", session: "browser"},
	"browser_version": {event: "browser_version"},
	"os":              {event: "os", session: "os"},
	"os_version":      {event: "os_version"},
	"device":          {event: "device", session: "device"},
	"screen":          {event: "screen", session: "screen"},
	"event":           {event: "name", kind: "kind = 'event'"},
}

// PropPrefix starts a props dimension: "prop:plan" is the value of the
// custom event property "plan".
const PropPrefix = storage.PropPrefix

// Dimensions lists the breakdown and filter dimensions (besides
// "prop:KEY"), sorted.
func Dimensions() []string {
	out := make([]string, 0, len(dimensions))
	for k := range dimensions {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lookupDimension(name string) (dimension, error) {
	if key, ok := strings.CutPrefix(name, PropPrefix); ok {
		if key == "" || len(key) > 256 {
			return dimension{}, fmt.Errorf("dimension %q: want prop:KEY", name)
		}
		// A property breakdown counts the custom events that carry the
		// key, under its first value (as the summaries' propRows does).
		k := storage.Quote(key)
		return dimension{event: "props.value[indexOf(props.key, " + k + ")]", kind: "kind = 'event' AND has(props.key, " + k + ")"}, nil
	}
	if d, ok := dimensions[name]; ok {
		return d, nil
	}
	return dimension{}, fmt.Errorf("unknown dimension %q", name)
}

// isGoal reports whether a filter on dimension name selects conversions.
func isGoal(name string) bool { return name == "event" || strings.HasPrefix(name, PropPrefix) }

// plan is a validated Query.
type plan struct {
	q      Query
	loc    *time.Location
	sample uint64 // raw rows of 1 in sample visitors are read (sample.go); 0 or 1: all
}

// maxBuckets bounds a time series, so that a year by the hour is refused
// rather than drawn.
const maxBuckets = 2000

func (q Query) plan() (plan, error) {
	if q.SiteID == "" {
		return plan{}, errors.New("stats query: no site")
	}
	if !q.From.Before(q.To) {
		return plan{}, fmt.Errorf("stats query: empty period %s to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	loc, err := time.LoadLocation(q.Timezone)
	if err != nil {
		return plan{}, fmt.Errorf("stats query: time zone %q: %w", q.Timezone, err)
	}
	for _, f := range q.Filters {
		if _, err := lookupDimension(f.Dimension); err != nil {
			return plan{}, fmt.Errorf("stats query: filter: %w", err)
		}
		switch f.Op {
		case FilterIs, FilterIsNot, FilterContains, FilterNotContains:
		default:
			return plan{}, fmt.Errorf("stats query: filter %s: unknown operator %q", f.Dimension, f.Op)
		}
		if len(f.Values) == 0 {
			return plan{}, fmt.Errorf("stats query: filter %s: no value", f.Dimension)
		}
	}
	return plan{q: q, loc: loc}, nil
}

func (p plan) hasGoal() bool {
	for _, f := range p.q.Filters {
		if isGoal(f.Dimension) {
			return true
		}
	}
	return false
}

// withoutGoals is p for the denominator of a conversion rate.
func (p plan) withoutGoals() plan {
	var keep []Filter
	for _, f := range p.q.Filters {
		if !isGoal(f.Dimension) {
			keep = append(keep, f)
		}
	}
	p.q.Filters = keep
	return p
}

// match is the condition "expr compares with f's values"; negated
// operators are rendered positive when positive is set (for IN / NOT IN
// subqueries).
func match(expr string, f Filter, positive bool) string {
	var terms []string
	switch f.Op {
	case FilterIs, FilterIsNot:
		vals := make([]string, len(f.Values))
		for i, v := range f.Values {
			vals[i] = storage.Quote(v)
		}
		op := " IN ("
		if f.Op == FilterIsNot && !positive {
			op = " NOT IN ("
		}
		return expr + op + strings.Join(vals, ", ") + ")"
	default:
		for _, v := range f.Values {
			terms = append(terms, "position(lowerUTF8("+expr+"), lowerUTF8("+storage.Quote(v)+")) > 0")
		}
	}
	cond := "(" + strings.Join(terms, " OR ") + ")"
	if f.Op == FilterNotContains && !positive {
		return "NOT " + cond
	}
	return cond
}

func negated(op FilterOp) bool { return op == FilterIsNot || op == FilterNotContains }

// sessionSlack widens the time range of the subqueries that link events
// and sessions, so that a visit crossing the period's edge still links;
// a visit that started longer before a period does not count in it
// (storage.SessionSlack, which the Batcher's day counts share).
const sessionSlack = storage.SessionSlack

// countedHits are the events every metric counts (see storage.CountedHits).
const countedHits = storage.CountedHits

func (p plan) eventRange() string {
	return fmt.Sprintf("site_id = %s AND ts >= %s AND ts < %s%s%s",
		storage.Quote(p.q.SiteID), timeLit(p.q.From), timeLit(p.q.To), keyDays("ts", p.q.From, p.q.To), p.sampled())
}

// eventClauses are the PREWHERE and WHERE clauses of a read of p's hits.
// The PREWHERE holds the conditions that keep few rows: extra (a further
// condition on the hit's columns, such as its kind, or "") and the
// filters on the hit's own columns; the WHERE the period, the counted
// hits (nearly all of them) and the filters linked through the visits.
// The server reads the PREWHERE's columns alone first, and the rest only
// for the rows it keeps. Left to choose, chDB put the period first, and a
// day's custom events (a twentieth of its hits) read every hit's columns:
// at 100M events a month, today's rows of the event card 94-141 ms with
// the kind in WHERE, 58-85 with it in PREWHERE (bench/BENCHMARKS.md). An
// explicit PREWHERE turns the server's own choice off, so the filters go
// in too; without extra or filters the server still chooses.
func (p plan) eventClauses(extra string) string {
	own, links := p.filterConds(eventColumns, p.eventLinked)
	var pre []string
	if extra != "" {
		pre = append(pre, extra)
	}
	pre = append(pre, own...)
	where := strings.Join(append([]string{p.eventRange(), countedHits}, links...), " AND ")
	if len(pre) == 0 {
		return "WHERE " + where
	}
	return "PREWHERE " + strings.Join(pre, " AND ") + " WHERE " + where
}

// keyDays bounds the UTC day of col (ts or start_ts), the second column
// of both raw tables' sorting key, by the days of from .. to, for a range
// of at most keyDaysSpan. It only restates the time range, but ClickHouse
// 18.16 does not derive it from the range on col, and without it reads
// every day of the month's partition: a count over one day's hits at 10M
// events a month took 83-93 ms without, 23 with; today's raw part of a
// 30-day aggregate 241-256 -> 76-82 ms (bench/BENCHMARKS.md). A longer
// range reads most of its partitions anyway, and there the condition
// only costs: chDB derives it itself, and a 30-day raw event card took
// 329-336 ms without it and 435-481 with.
func keyDays(col string, from, to time.Time) string {
	if to.Sub(from) > keyDaysSpan {
		return ""
	}
	return " AND toDate(" + col + ") >= " + dayLit(from.UTC()) + " AND toDate(" + col + ") <= " + dayLit(to.Add(-time.Second).UTC())
}

// keyDaysSpan is the longest range keyDays bounds: a week, and the slack
// of the visits that started before it.
const keyDaysSpan = 7*24*time.Hour + sessionSlack

// sessionRange selects the visits active in the period: started before
// its end, last hit at or after its start. A visit that crosses midnight
// is a visit of both days, as in Plausible, so that every day's visitors
// (counted where their hits fall) had a visit that day: a visitor keeps
// their id for 30 minutes after midnight so that a visit can go on, and
// any site's day boundary may fall inside a visit. Only visits that
// started at most sessionSlack before the period are looked at, so that
// the sessions table's monthly partitions before it are pruned; a visit
// with hits for over a day without a 30-minute pause is a robot's.
func (p plan) sessionRange() string {
	return fmt.Sprintf("site_id = %s AND start_ts >= %s AND start_ts < %s%s AND end_ts >= %s%s", storage.Quote(p.q.SiteID),
		timeLit(p.q.From.Add(-sessionSlack)), timeLit(p.q.To), keyDays("start_ts", p.q.From.Add(-sessionSlack), p.q.To), timeLit(p.q.From), p.sampled())
}

// eventColumns gives a dimension's expression on events and on sessions.
func eventColumns(d dimension) (string, string) { return d.event, d.session }

// eventLinked is the subquery over sessions that links events to the
// visits matching cond.
func (p plan) eventLinked(cond string) string {
	return fmt.Sprintf("SELECT session_id FROM sessions WHERE site_id = %s AND start_ts >= %s AND start_ts < %s%s AND %s%s GROUP BY session_id HAVING sum(sign) > 0",
		storage.Quote(p.q.SiteID), timeLit(p.q.From.Add(-sessionSlack)), timeLit(p.q.To), keyDays("start_ts", p.q.From.Add(-sessionSlack), p.q.To), cond, p.sampled())
}

// sessionWhere is the WHERE clause over sessions: the period and every
// filter (the sessions table has no kind, so no PREWHERE of its own).
func (p plan) sessionWhere() string {
	own, links := p.filterConds(func(d dimension) (string, string) { return d.session, d.event }, func(cond string) string {
		return fmt.Sprintf("SELECT session_id FROM events WHERE site_id = %s AND ts >= %s AND ts < %s%s AND %s%s",
			storage.Quote(p.q.SiteID), timeLit(p.q.From), timeLit(p.q.To.Add(sessionSlack)), keyDays("ts", p.q.From, p.q.To.Add(sessionSlack)), cond, p.sampled())
	})
	return strings.Join(append(append([]string{p.sessionRange()}, own...), links...), " AND ")
}

// filterConds are the conditions of p's filters on one raw table (events
// or sessions). columns gives a dimension's expression on this table
// (here, "" when it has none) and on the other (there). A filter this
// table can match, it matches itself (own); any other links in the
// session ids of linked, the subquery over the other table that matches
// cond (links).
func (p plan) filterConds(columns func(dimension) (here, there string), linked func(cond string) string) (own, links []string) {
	for _, f := range p.q.Filters {
		d, _ := lookupDimension(f.Dimension)
		here, there := columns(d)
		if here != "" {
			own = append(own, match(here, f, false))
			continue
		}
		links = append(links, "session_id "+in(f.Op)+" ("+linked(match(there, f, true))+")")
	}
	return own, links
}

// in is the operator that links a row to the session ids of a subquery.
// GLOBAL runs the subquery once and sends its result to every shard: on a
// cluster a plain IN over a Distributed table inside a query over another
// is refused (distributed_product_mode = 'deny' by default, and old
// servers take that setting only as a string, which the native protocol
// of clickhouse-go cannot send them). On one server it is a plain IN.
func in(op FilterOp) string {
	if negated(op) {
		return "GLOBAL NOT IN"
	}
	return "GLOBAL IN"
}

// needsFold reports whether sessions grouped by key, under the query's
// filters, must be folded visit by visit: only the exit page changes
// between the versions of a visit, so a cancel row can land under another
// exit page than its new state.
func (p plan) needsFold(key string) bool {
	if strings.Contains(key, "exit_page") {
		return true
	}
	for _, f := range p.q.Filters {
		if d, _ := lookupDimension(f.Dimension); strings.Contains(d.session, "exit_page") {
			return true
		}
	}
	return false
}

func clamp(n int64) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}

// checkInterval refuses an unknown interval, and a series of more than
// maxBuckets buckets.
func (p plan) checkInterval() error {
	switch p.q.Interval {
	case IntervalHour, IntervalDay, IntervalWeek, IntervalMonth, "":
	default:
		return fmt.Errorf("stats query: unknown interval %q", p.q.Interval)
	}
	if n := len(p.buckets()); n > maxBuckets {
		return fmt.Errorf("stats query: %d %s buckets, at most %d: choose a larger interval", n, p.q.Interval, maxBuckets)
	}
	return nil
}

// hourBuckets group rows by the hours of the site's zone, keyed by the
// hour's start as Unix seconds: a hit falls in one hour; a visit counts in
// every hour from its start's to its last hit's (sessionRange says why).
// Each hour is found from the start's with relative hour numbers, which
// every server version has.
func (p plan) hourBuckets() buckets {
	tz := p.tzLit()
	return buckets{
		ev: "toString(toUnixTimestamp(toStartOfHour(ts, " + tz + ")))",
		se: "arrayJoin(arrayMap(i -> toString(toUnixTimestamp(toStartOfHour(start_ts, " + tz + ") + 3600 * i)), " +
			"range(toUInt64(toRelativeHourNum(end_ts, " + tz + ") - toRelativeHourNum(start_ts, " + tz + ")) + 1)))",
		within: "1",
	}
}

// buckets are the starts of every bucket that overlaps the period, in the
// site's zone; it stops counting past maxBuckets.
func (p plan) buckets() []time.Time {
	from := p.q.From.In(p.loc)
	y, m, d := from.Date()
	var t time.Time
	next := func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	switch p.q.Interval {
	case IntervalHour:
		t = from.Truncate(time.Hour)
		next = func(t time.Time) time.Time { return t.Add(time.Hour) }
	case IntervalWeek:
		t = time.Date(y, m, d-(int(from.Weekday())+6)%7, 0, 0, 0, 0, p.loc)
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }
	case IntervalMonth:
		t = time.Date(y, m, 1, 0, 0, 0, 0, p.loc)
		next = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	default:
		t = time.Date(y, m, d, 0, 0, 0, 0, p.loc)
	}
	var out []time.Time
	for ; t.Before(p.q.To) && len(out) <= maxBuckets; t = next(t) {
		out = append(out, t)
	}
	return out
}
