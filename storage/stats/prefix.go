package stats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// Day prefixes. A day is summarised whole only once it is over (and its
// visits have ended), so today was read from its raw rows by every card.
// (Now a day not yet summarised is read from the Batcher's day counts,
// summary.go's countedDays; a prefix serves the page card on a day the
// counts do not cover: after a crash, an upgrade, a copy.)
// That costs most where today holds many distinct (value, visitor) pairs:
// the page breakdown, whose exact distinct visitors per page over a day of
// 3.3M hits (100M events a month) cost 175-320 ms alone on 2 cores. So the
// Summarizer also summarises the pages of each unsettled day up to a
// recent slot boundary (until: a minute ago, rounded down to 15 minutes),
// and the page card reads the day as that prefix plus the hits since (the
// tail):
//
//   - pageviews and engagement add up: the tail's own;
//   - visitors do not (a visitor of the morning who comes back counts
//     once): the tail counts only the (page, visitor) pairs it sees
//     first, found by reading the day's earlier hits of the tail's
//     visitors only.
//
// So the prefix plus the tail is exactly what the raw day gives. The tail's
// lookup still reads the day's columns (the tail's visitors are spread
// over the whole day's granules, which are ordered by visitor), so it
// saves the aggregation, not the scan: measured at 100M, page 390-428 ms
// -> 211 ms, while the whole site's visitors, event and prop cards (one
// or few values, or a tenth of the rows) were no faster or slower from a
// prefix (bench/BENCHMARKS.md), and read today raw. Visits always read the
// raw day: a visit's row is rewritten while it goes on.
//
// Freshness, as for whole days (summary.go) but from the hits counter of
// daily_stats_slots, which only events rows add to: a prefix is used while
// the counter of its slots (those before until) is what it was built
// under, so a late hit for the morning (a replay) has the day read raw
// until the next pass rebuilds the prefix.

// prefixLag is how far behind now a prefix ends, before it is rounded
// down to a slot: the hits of a slot that has just ended are still on
// their way to storage (the Batcher flushes within seconds), and a prefix
// built before they land would be stale at once.
const prefixLag = time.Minute

// dayPrefix is the latest prefix summary of one site-local day.
type dayPrefix struct {
	day     time.Time // the site-local day, as days returns it
	gen     uint64
	until   time.Time // the prefix holds the hits before until
	covered uint64    // the hits counter of its slots it was built under
	tz      string
}

// fresh reports whether x can stand for its slots in zone tz while their
// hits counter is hits.
func (x dayPrefix) fresh(tz string, hits uint64) bool {
	return x.gen != 0 && x.tz == tz && x.covered == hits
}

// prefixDimensions are the dimensions a prefix summarises: those whose
// cards it makes faster (see above).
var prefixDimensions = []string{"page"}

// dayPrefixes reads the latest prefix of each of the site-local days from
// first to last.
func (p plan) dayPrefixes(ctx context.Context, db storage.SQL, first, last time.Time) (map[time.Time]dayPrefix, error) {
	site := storage.Quote(p.q.SiteID)
	rows, err := db.QuerySQL(ctx, "SELECT toString(day), max(gen), argMax(until_ts, gen), argMax(covered, gen), argMax(tz, gen) FROM daily_stats_prefixes WHERE site_id = "+site+
		" AND day >= "+dayLit(first)+" AND day <= "+dayLit(last)+" GROUP BY day")
	if err != nil {
		return nil, fmt.Errorf("day prefixes: %w", err)
	}
	out := make(map[time.Time]dayPrefix, len(rows.Values))
	for i := range rows.Values {
		var d string
		var x dayPrefix
		if err := rows.Scan(i, &d, &x.gen, &x.until, &x.covered, &x.tz); err != nil {
			return nil, fmt.Errorf("day prefixes: %w", err)
		}
		if x.day, err = parseDay(d); err != nil {
			return nil, fmt.Errorf("day prefixes: %w", err)
		}
		out[x.day] = x
	}
	return out, nil
}

// hitChanges is the hits counter of the slots of day d before until.
func (p plan) hitChanges(ctx context.Context, db storage.SQL, d, until time.Time) (uint64, error) {
	var n uint64
	err := storage.QueryRow(ctx, db, "SELECT sum(hits) FROM daily_stats_slots WHERE site_id = "+storage.Quote(p.q.SiteID)+
		" AND slot >= "+timeLit(p.dayStart(d))+" AND slot < "+timeLit(until), &n)
	if err != nil {
		return 0, fmt.Errorf("day prefix of %s: changes: %w", d.Format(time.DateOnly), err)
	}
	return n, nil
}

// usablePrefixes are the fresh prefixes of the raw days that p's period
// holds from their start to at least the prefix's end.
func (p plan) usablePrefixes(ctx context.Context, db storage.SQL, raw []time.Time) ([]dayPrefix, error) {
	var candidates []time.Time
	for _, d := range raw {
		if !p.dayStart(d).Before(p.q.From) {
			candidates = append(candidates, d)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	all, err := p.dayPrefixes(ctx, db, candidates[0], candidates[len(candidates)-1])
	if err != nil {
		return nil, err
	}
	var out []dayPrefix
	for _, d := range candidates {
		x, ok := all[d]
		if !ok || x.until.After(p.q.To) {
			continue
		}
		hits, err := p.hitChanges(ctx, db, d, x.until)
		if err != nil {
			return nil, err
		}
		if x.fresh(p.loc.String(), hits) {
			out = append(out, x)
		}
	}
	return out, nil
}

// SummarisePrefix summarises the hits of one site-local day in zone tz
// before until, recorded as covering the hits counter covered of those
// slots (read before it began), and returns the new generation.
func SummarisePrefix(ctx context.Context, db storage.SQL, siteID, tz string, day, until time.Time, covered uint64) (uint64, error) {
	p, err := dayPlan(siteID, tz, day)
	if err != nil {
		return 0, fmt.Errorf("summarise prefix: %w", err)
	}
	p.q.To = until
	gen := uint64(time.Now().UnixNano())
	label := fmt.Sprintf("%s %s until %s", siteID, day.Format(time.DateOnly), until.UTC().Format(time.DateTime))
	for _, name := range prefixDimensions {
		d := dimensions[name]
		if err := p.insertSummary(ctx, db, gen, storage.Quote(name), p.eventDayRows(rawPart{all: true}, d.event, d.kind)); err != nil {
			return 0, fmt.Errorf("summarise prefix %s by %q: %w", label, name, err)
		}
	}
	err = db.InsertRowSQL(ctx, "INSERT INTO daily_stats_prefixes (site_id, tz, day, gen, until_ts, covered)", siteID, tz, day, gen, until.UTC(), covered)
	if err != nil {
		return 0, fmt.Errorf("summarise prefix %s: record: %w", label, err)
	}
	return gen, nil
}

// eventRows is the dayCols source over the events of the raw part r for
// the dimension name (whose expression on events is key, and extra its
// further condition): raw days read whole, and for each day with a
// prefix, the prefix's rows and its tail's. r has prefixes only for the
// card's own dimension (source), so any other dimension the card reads
// (the whole site's, for its totals) reads those days raw.
func (p plan) eventRows(r rawPart, name, key, extra string) string {
	if len(r.prefixes) == 0 || name != p.q.Dimension {
		return p.eventDayRows(r, key, extra)
	}
	var parts []string
	if rest := r.withoutPrefixes(); !rest.empty() {
		parts = append(parts, p.eventDayRows(rest, key, extra))
	}
	for _, x := range r.prefixes {
		cond := "day = " + dayLit(x.day) + fmt.Sprintf(" AND gen = %d", x.gen)
		parts = append(parts, p.summaryRows(cond, name), p.tailRows(x, key, extra))
	}
	return strings.Join(parts, " UNION ALL ")
}

// tailRows are the dayCols rows of day x.day's hits from x.until to the
// period's end (or the day's): their counters, and as visitors the
// (value, visitor) pairs first seen in them. Only the tail's visitors'
// hits of the day are read: grouped by value and visitor, a pair counts
// when its first hit is in the tail.
func (p plan) tailRows(x dayPrefix, key, extra string) string {
	day := p
	day.q.From = p.dayStart(x.day)
	if end := p.dayStart(x.day.AddDate(0, 0, 1)); end.Before(day.q.To) {
		day.q.To = end
	}
	tail := day
	tail.q.From = x.until
	if key == "" {
		key = "''"
	}
	// The lookup is in the PREWHERE too: the server reads the visitor ids
	// first and the rest of the columns only where the tail's visitors
	// are (at 100M, the tail with its lookup 150-199 -> 118-147 ms).
	lookup := "visitor_id " + inSet + " (SELECT visitor_id FROM events " + tail.eventClauses(extra) + ")"
	if extra != "" {
		lookup = extra + " AND " + lookup
	}
	inTail := " AND ts >= " + timeLit(x.until)
	return "SELECT " + dayLit(x.day) + " AS d, k, toUInt64(countIf(first >= " + timeLit(x.until) + ")) AS vis, sum(pv) AS pv, sum(ev) AS ev, " +
		"sum(eng) AS eng, sum(engms) AS engms, sum(scroll) AS scroll, " +
		"toInt64(0) AS visits, toInt64(0) AS bounces, toInt64(0) AS dur, toInt64(0) AS spv, toInt64(0) AS sev FROM (" +
		"SELECT toString(" + key + ") AS k, visitor_id, min(ts) AS first, countIf(kind = 'pageview'" + inTail + ") AS pv, " +
		"countIf(kind = 'event'" + inTail + ") AS ev, countIf(kind = 'engagement'" + inTail + ") AS eng, " +
		"toUInt64(sumIf(engagement_ms, kind = 'engagement'" + inTail + ")) AS engms, toUInt64(sumIf(scroll_depth, kind = 'engagement'" + inTail + ")) AS scroll " +
		"FROM events " + day.eventClauses(lookup) + " " +
		"GROUP BY k, visitor_id HAVING max(ts) >= " + timeLit(x.until) + ") GROUP BY k"
}

// inSet links rows to the visitor ids of a subquery (see in: GLOBAL, for
// a cluster).
var inSet = in(FilterIs)

// prefixJob is the prefix of one unsettled day of a site, as of now.
type prefixJob struct {
	p   plan
	day time.Time
	now time.Time
}

// prefix brings the prefix of j's day up to date: it ends a minute ago,
// rounded down to a slot (or at the day's end), and is rebuilt when that
// end moved or a late hit changed its slots. Superseded prefixes are kept
// until the day is summarised whole, which deletes them with one mutation
// (readers take the latest): a deletion per rebuild would be a mutation
// every quarter-hour per site, which older servers run slowly.
func (s *Summarizer) prefix(ctx context.Context, j prefixJob) error {
	p, tz := j.p, j.p.loc.String()
	until := j.now.Add(-prefixLag).Truncate(storage.ChangeSlot)
	if end := p.dayStart(j.day.AddDate(0, 0, 1)); until.After(end) {
		until = end
	}
	if !until.After(p.dayStart(j.day)) {
		return nil
	}
	latest, err := p.dayPrefixes(ctx, s.DB, j.day, j.day)
	if err != nil {
		return err
	}
	covered, err := p.hitChanges(ctx, s.DB, j.day, until)
	if err != nil || covered == 0 { // no hit yet: the tail is the whole day
		return err
	}
	if x, ok := latest[j.day]; ok && x.until.Equal(until) && x.fresh(tz, covered) {
		return nil
	}
	_, err = SummarisePrefix(ctx, s.DB, p.q.SiteID, tz, j.day, until, covered)
	return err
}

// prefixedDays are the days up to last that have prefix records, which
// their whole summary supersedes (and then deletes).
func (p plan) prefixedDays(ctx context.Context, db storage.SQL, last time.Time) (map[time.Time]bool, error) {
	all, err := p.dayPrefixes(ctx, db, epochDay, last)
	if err != nil {
		return nil, err
	}
	out := make(map[time.Time]bool, len(all))
	for d := range all {
		out[d] = true
	}
	return out, nil
}
