package stats

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// Days. Visitor ids are keyed with the UTC day's salt, so one person has
// unrelated ids on two days: the visitors of a period are the sum of the
// visitors of each of its days, and that is how every card counts them.
// A day is a calendar day in the site's time zone. Likewise a visit counts
// on every day it touches (a visit crossing midnight is a visit of both
// days, as the daily chart always counted it), so a period's visits are
// the sum of its days' visits. Both make every count of a period the sum
// of its days' counts, which is what lets a finished day be read from its
// summary (daily_stats, see summary.go) instead of its raw rows, with the
// same result.
//
// A person who visits on both sides of the site's midnight (for a UTC
// site: in the 30 minutes after it, while the visit started before goes
// on with yesterday's id) counts once on each day.

// Every per-day row source ("dayCols" below) yields these columns, in
// this order: the site-local day d, the dimension's value k, and the
// counters vis, pv, ev, eng, engms, scroll, visits, bounces, dur, spv, sev.

// eventSums are the counters of dayCols over a group of events rows.
const eventSums = "uniqExact(visitor_id) AS vis, countIf(kind = 'pageview') AS pv, countIf(kind = 'event') AS ev, " +
	"countIf(kind = 'engagement') AS eng, toUInt64(sumIf(engagement_ms, kind = 'engagement')) AS engms, " +
	"toUInt64(sumIf(scroll_depth, kind = 'engagement')) AS scroll, " +
	"toInt64(0) AS visits, toInt64(0) AS bounces, toInt64(0) AS dur, toInt64(0) AS spv, toInt64(0) AS sev"

// dayRow is a scanned row of plan.sums under a key.
type dayRow struct {
	key string
	Metrics
}

// scanDayRows reads key and plan.sums rows. sessionSide says whose
// pageviews and events a row reports: those the visits counted (a
// breakdown by a property of the visit) or those of the hits.
func scanDayRows(rows *storage.Rows, sessionSide bool) ([]dayRow, error) {
	out := make([]dayRow, len(rows.Values))
	for i := range rows.Values {
		var visits, bounces, dur, spv, sev int64
		r := &out[i]
		if err := rows.Scan(i, &r.key, &r.Visitors, &r.Pageviews, &r.Events, &r.Engagements, &r.EngagementMS, &r.ScrollSum,
			&visits, &bounces, &dur, &spv, &sev); err != nil {
			return nil, err
		}
		r.Visits, r.Bounces, r.DurationS, r.SessionPageviews = clamp(visits), clamp(bounces), clamp(dur), clamp(spv)
		if sessionSide {
			r.Pageviews, r.Events = r.SessionPageviews, clamp(sev)
		}
	}
	return out, nil
}

// dayLit is a Date literal.
func dayLit(d time.Time) string { return "toDate(" + storage.Quote(d.Format(time.DateOnly)) + ")" }

// parseDay reads a day the database wrote with toString(Date).
func parseDay(s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return d, fmt.Errorf("day %q: %w", s, err)
	}
	return d, nil
}

// epochDay is the first day every server's Date holds in every zone: the
// lower bound of a scan of all days.
var epochDay = time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)

// tzLit is the query's time zone as an SQL argument.
func (p plan) tzLit() string { return storage.Quote(p.loc.String()) }

// days are the site-local calendar days the period touches, as midnights
// (time.Date normalises a midnight that a daylight-saving change skips).
func (p plan) days() []time.Time {
	from := p.q.From.In(p.loc)
	last := p.q.To.Add(-time.Nanosecond).In(p.loc)
	var out []time.Time
	for d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, p.loc); ; d = d.AddDate(0, 0, 1) {
		y, m, dd := d.Date()
		out = append(out, time.Date(y, m, dd, 0, 0, 0, 0, time.UTC))
		if ly, lm, ld := last.Date(); y == ly && m == lm && dd == ld || len(out) > 100000 {
			return out
		}
	}
}

// dayStart is the instant a site-local day (as days returns it) starts.
func (p plan) dayStart(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, p.loc)
}

// rawPart is the part of a period read from the raw tables: all of it, or
// the days summaries do not cover (some, or none). Of those, the hits of
// the days with a prefix are read from it and their tail (prefix.go).
type rawPart struct {
	all      bool
	days     []time.Time // when !all: the days, ascending
	prefixes []dayPrefix // some of days, ascending
}

func (r rawPart) empty() bool { return !r.all && len(r.days) == 0 }

// withoutPrefixes is r without the days that have a prefix.
func (r rawPart) withoutPrefixes() rawPart {
	out := rawPart{all: r.all}
	for _, d := range r.days {
		if !slices.ContainsFunc(r.prefixes, func(x dayPrefix) bool { return x.day.Equal(d) }) {
			out.days = append(out.days, d)
		}
	}
	return out
}

// restrict returns p over the raw part: the period from the first raw
// day on, and the condition on a day column d that keeps the raw days.
func (p plan) restrict(r rawPart) (plan, string) {
	if r.all {
		return p, ""
	}
	if s := p.dayStart(r.days[0]); s.After(p.q.From) {
		p.q.From = s
	}
	lits := make([]string, len(r.days))
	for i, d := range r.days {
		lits[i] = dayLit(d)
	}
	return p, "d IN (" + strings.Join(lits, ", ") + ")"
}

// buckets are how rows are grouped in time: by site-local day (the
// column d is a Date), or by the buckets of an hourly series (d is the
// bucket key, see hourBuckets). ev is a hit's bucket; se lists a visit's
// (an arrayJoin); within keeps the buckets of the period.
type buckets struct{ ev, se, within string }

// dayBuckets are the site-local days of p's period.
func (p plan) dayBuckets() buckets {
	tz := p.tzLit()
	days := p.days()
	return buckets{
		ev: "toDate(ts, " + tz + ")",
		se: "arrayJoin(arrayMap(i -> toDate(start_ts, " + tz + ") + i, range(toUInt64(toRelativeDayNum(end_ts, " + tz +
			") - toRelativeDayNum(start_ts, " + tz + ")) + 1)))",
		within: "d >= " + dayLit(days[0]) + " AND d <= " + dayLit(days[len(days)-1]),
	}
}

// eventDayRows is the dayCols source over events of the raw part: hits
// grouped by day and key (expression on events), with extra as a further
// condition.
func (p plan) eventDayRows(r rawPart, key, extra string) string {
	return p.eventBucketRows(r, p.dayBuckets(), key, extra)
}

// eventBucketRows is eventDayRows by buckets b.
func (p plan) eventBucketRows(r rawPart, b buckets, key, extra string) string {
	p, days := p.restrict(r)
	if key == "" {
		key = "''"
	}
	q := "SELECT " + b.ev + " AS d, toString(" + key + ") AS k, " + eventSums + " FROM events " + p.eventClauses(extra) + " GROUP BY d, k"
	if days != "" {
		q += " HAVING " + days
	}
	return q
}

// sessionDayRows is the dayCols source over sessions of the raw part:
// every visit once per day it touches within the period, grouped by day
// and key (an expression on sessions). With visitors false vis is 0 (the
// visitors of the whole site come from events).
//
// A visit's VersionedCollapsingMergeTree rows are its live state (+1)
// plus, until a merge folds them, a +1 and an identical -1 row per
// superseded state; the signed sums count each visit once. Every version
// of a visit has the same start, entry page and first-touch attributes,
// so under such a key a superseded state and its cancel row fall together
// and cancel out; a distinct count of visitors sees one visitor either
// way. Only the exit page changes between versions (needsFold).
func (p plan) sessionDayRows(r rawPart, key string, visitors bool) string {
	return p.sessionBucketRows(r, p.dayBuckets(), key, visitors)
}

// sessionBucketRows is sessionDayRows by buckets b: a visit counts in
// every bucket from its start's to its last hit's.
func (p plan) sessionBucketRows(r rawPart, b buckets, key string, visitors bool) string {
	p, days := p.restrict(r)
	if key == "" {
		key = "''"
	}
	vis := "toUInt64(0)"
	if visitors {
		vis = "uniqExact(visitor_id)"
	}
	period := b.within
	if days != "" {
		period += " AND " + days
	}
	where := p.sessionWhere()
	expanded := func(cond string) string {
		return "SELECT " + b.se + " AS d, toString(" + key + ") AS k, session_id, visitor_id, sign, bounce, duration_s, pageviews, events " +
			"FROM sessions WHERE " + where + cond
	}
	sums := " AS vis, toUInt64(0) AS pv, toUInt64(0) AS ev, toUInt64(0) AS eng, toUInt64(0) AS engms, toUInt64(0) AS scroll, "
	if !p.needsFold(key) {
		return "SELECT d, k, " + vis + sums + "sum(sign) AS visits, sum(bounce * sign) AS bounces, sum(duration_s * sign) AS dur, " +
			"sum(pageviews * sign) AS spv, sum(events * sign) AS sev FROM (" + expanded("") + ") WHERE " + period + " GROUP BY d, k"
	}
	// A visitor would also be counted under the exit page of a superseded
	// state. So the visits with a cancel row in the period are folded one
	// by one into their live state (sum(sign) > 0 under a key), and the
	// others, one live row each once merged, are read as they are: folding
	// every visit cost 550-630 ms over 2.2M visits, this 140-150 ms
	// (bench/BENCHMARKS.md).
	cancelled := "SELECT session_id FROM sessions WHERE " + p.sessionRange() + " AND sign < 0"
	return "SELECT d, k, " + vis + sums + "sum(vs) AS visits, sum(vb) AS bounces, sum(vd) AS dur, sum(vp) AS spv, sum(ve) AS sev FROM (" +
		"SELECT d, k, visitor_id, toInt64(sign) AS vs, toInt64(bounce * sign) AS vb, toInt64(duration_s * sign) AS vd, " +
		"toInt64(pageviews * sign) AS vp, toInt64(events * sign) AS ve FROM (" +
		expanded(" AND session_id "+in(FilterIsNot)+" ("+cancelled+")") + ") WHERE " + period + " UNION ALL " +
		"SELECT d, k, visitor_id, sum(sign) AS vs, sum(bounce * sign) AS vb, sum(duration_s * sign) AS vd, " +
		"sum(pageviews * sign) AS vp, sum(events * sign) AS ve FROM (" +
		expanded(" AND session_id "+in(FilterIs)+" ("+cancelled+")") + ") WHERE " + period +
		" GROUP BY d, k, session_id, visitor_id HAVING vs > 0) GROUP BY d, k"
}

// source is where a card's per-day rows come from: summaries for some
// days, raw rows for the rest.
type source struct {
	summary string  // the daily_stats condition on (day, gen), or ""
	counted string  // the day_counts condition on day, or ""
	raw     rawPart // the days read raw
}

// dimensionRows is the dayCols source of one dimension ("" for the whole
// site) over src: summary rows and raw rows together.
func (p plan) dimensionRows(src source, name string) (sql string, sessionSide bool, err error) {
	var parts []string
	if src.summary != "" {
		parts = append(parts, p.summaryRows(src.summary, name))
	}
	if src.counted != "" {
		parts = append(parts, p.countRows(src.counted, name))
	}
	if !src.raw.empty() {
		raw, side, err := p.rawDimensionRows(src.raw, name)
		if err != nil {
			return "", false, err
		}
		parts = append(parts, raw)
		sessionSide = side
	} else if name != "" {
		d, err := lookupDimension(name)
		if err != nil {
			return "", false, err
		}
		sessionSide = d.session != ""
	}
	return strings.Join(parts, " UNION ALL "), sessionSide, nil
}

// summaryRows is the dayCols source of one dimension over the daily_stats
// rows that cond (on day and gen) selects.
func (p plan) summaryRows(cond, name string) string {
	return "SELECT day AS d, value AS k, visitors AS vis, pageviews AS pv, events AS ev, engagements AS eng, " +
		"engagement_ms AS engms, scroll_sum AS scroll, visits, bounces, duration_s AS dur, session_pageviews AS spv, session_events AS sev " +
		"FROM daily_stats WHERE site_id = " + storage.Quote(p.q.SiteID) + " AND dimension = " + storage.Quote(name) + " AND " + cond
}

// countRows is the dayCols source of one dimension over the day_counts
// rows that cond (on day) selects, in the query's zone. A day's rows are
// what each batch added (until the table's merges add them up); a batch
// may take visitors away (an exit page a visit left), so they are added
// up before they are read as a count.
func (p plan) countRows(cond, name string) string {
	return "SELECT day AS d, value AS k, toUInt64(sum(visitors)) AS vis, sum(pageviews) AS pv, sum(events) AS ev, sum(engagements) AS eng, " +
		"sum(engagement_ms) AS engms, sum(scroll_sum) AS scroll, sum(visits) AS visits, sum(bounces) AS bounces, sum(duration_s) AS dur, " +
		"sum(session_pageviews) AS spv, sum(session_events) AS sev FROM day_counts WHERE site_id = " + storage.Quote(p.q.SiteID) +
		" AND tz = " + p.tzLit() + " AND dimension = " + storage.Quote(name) + " AND " + cond + " GROUP BY d, k"
}

// rawDimensionRows is the dayCols source of one dimension over the raw
// part r: the whole site is its hits and its visits; a dimension that
// visits hold counts visits (with their visitors, pageviews and events),
// any other counts hits of the kinds it applies to.
func (p plan) rawDimensionRows(r rawPart, name string) (sql string, sessionSide bool, err error) {
	if name == "" {
		return p.eventDayRows(r, "", "") + " UNION ALL " + p.sessionDayRows(r, "", false), false, nil
	}
	d, err := lookupDimension(name)
	if err != nil {
		return "", false, err
	}
	if d.session != "" {
		return p.sessionDayRows(r, d.session, true), true, nil
	}
	return p.eventRows(r, name, d.event, d.kind), false, nil
}

// byDay adds up the whole site's rows per day: the base of Aggregate and
// of daily, weekly and monthly series.
func (p plan) byDay(ctx context.Context, db storage.SQL, src source) (map[time.Time]Metrics, error) {
	rows, _, err := p.dimensionRows(src, "")
	if err != nil {
		return nil, err
	}
	byKey, err := p.byBucket(ctx, db, rows)
	if err != nil {
		return nil, err
	}
	out := make(map[time.Time]Metrics, len(byKey))
	for k, m := range byKey {
		d, err := parseDay(k)
		if err != nil {
			return nil, fmt.Errorf("daily stats: %w", err)
		}
		out[d] = m
	}
	return out, nil
}

// byBucket adds up dayCols rows per bucket d, keyed by d as text.
func (p plan) byBucket(ctx context.Context, db storage.SQL, rows string) (map[string]Metrics, error) {
	res, err := db.QuerySQL(ctx, "SELECT toString(d), "+p.sums()+" FROM ("+rows+") GROUP BY d")
	if err != nil {
		return nil, fmt.Errorf("stats by time: %w", err)
	}
	scanned, err := scanDayRows(res, false)
	if err != nil {
		return nil, fmt.Errorf("stats by time: %w", err)
	}
	out := make(map[string]Metrics, len(scanned))
	for _, r := range scanned {
		out[r.key] = r.Metrics
	}
	return out, nil
}

// baseVisitors counts the visitors of p's period without its goal filters
// (event, prop:KEY): the base of a conversion rate. src is p's source,
// which is the base's too when p has no goal filter.
func (p plan) baseVisitors(ctx context.Context, db storage.SQL, src source) (uint64, error) {
	base := p.withoutGoals()
	if p.hasGoal() {
		var err error
		if src, err = base.source(ctx, db); err != nil {
			return 0, err
		}
	}
	return base.visitors(ctx, db, src)
}

// visitors counts the visitors of p's period from src (each day's
// distinct visitors, added up). Visitors are counted from hits, so the
// raw days read events only (the whole site's visits rows add visits, not
// visitors: leaving them out saved a third of an event breakdown at 100M
// events, bench/BENCHMARKS.md).
func (p plan) visitors(ctx context.Context, db storage.SQL, src source) (uint64, error) {
	var parts []string
	if src.summary != "" {
		parts = append(parts, p.summaryRows(src.summary, ""))
	}
	if src.counted != "" {
		parts = append(parts, p.countRows(src.counted, ""))
	}
	if !src.raw.empty() {
		parts = append(parts, p.eventDayRows(src.raw, "", ""))
	}
	var n uint64
	if err := storage.QueryRow(ctx, db, "SELECT sum(vis)"+p.scale()+" FROM ("+strings.Join(parts, " UNION ALL ")+")", &n); err != nil {
		return 0, fmt.Errorf("visitors: %w", err)
	}
	return n, nil
}

// total adds up per-day metrics.
func total(days map[time.Time]Metrics) Metrics {
	var s Metrics
	for _, m := range days {
		s.Add(m)
	}
	return s
}

// byKey adds up one dimension's rows per value over the period's days,
// ordered by visitors (ties by value); tail is what follows the ordering
// (a LIMIT, or nothing).
func (p plan) byKey(ctx context.Context, db storage.SQL, src source, name, tail string) ([]dayRow, error) {
	rows, side, err := p.dimensionRows(src, name)
	if err != nil {
		return nil, err
	}
	res, err := db.QuerySQL(ctx, "SELECT k, "+p.sums()+" FROM ("+rows+") GROUP BY k ORDER BY vis DESC, k "+tail)
	if err != nil {
		return nil, err
	}
	return scanDayRows(res, side)
}

// seriesFromDays folds per-day metrics into the buckets of a daily,
// weekly or monthly series: a day belongs to the last bucket starting at
// or before its noon.
func (p plan) seriesFromDays(days map[time.Time]Metrics) []Point {
	starts := p.buckets()
	out := make([]Point, len(starts))
	for i, s := range starts {
		out[i].Start = s
	}
	for d, m := range days {
		noon := time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, p.loc)
		i := sort.Search(len(starts), func(i int) bool { return starts[i].After(noon) }) - 1
		if i >= 0 {
			out[i].Metrics.Add(m)
		}
	}
	return out
}
