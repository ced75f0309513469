package stats

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// Summaries. A finished day of a site is summarised into daily_stats: per
// dimension ("" for the whole site) and value, the day's counters,
// computed by the same per-day queries that read raw rows (days.go), so a
// summary row equals what the raw tables give for that day by
// construction. A card over 30 days then reads 30 days of summary rows
// (days × distinct values) and the raw rows of today only (the page
// card: today's prefix and its latest hits, prefix.go).
//
// Freshness without scanning raw rows: the Batcher adds to a per-site,
// per-15-minute counter (daily_stats_slots.n) after each batch it stores,
// for the slots its rows fall in. A summary records the day's counter it
// was computed under (daily_stats_done.covered); a reader uses it only
// while the counter is unchanged, and reads a day that changed since (a
// spool replay after an outage, a backlog, a visit going on after
// midnight) from its raw rows until the Summarizer has summarised it
// again. So every card is exact at every moment, and late data is seen as
// soon as it is stored.
//
// A summary is made for the site's own time zone; a query in another zone
// reads raw rows. Filtered queries read raw rows too: a filter crosses
// dimensions, which per-dimension summaries cannot (above a size, a
// sample of them: sample.go).

// summaryDimensions are the dimensions summarised one by one ("" is the
// whole site); props ("prop:KEY") are summarised by propRows, every key at
// once.
func summaryDimensions() []string { return append([]string{""}, Dimensions()...) }

// dayState is what the freshness check knows of one day.
type dayState struct {
	changes uint64 // the day's changes counter
	gen     uint64 // latest summary generation, 0 if none
	covered uint64 // the counter that summary was computed under
	tz      string
}

func (s dayState) fresh(tz string) bool { return s.gen != 0 && s.tz == tz && s.covered == s.changes }

// dayStates reads the changes counters and latest summaries of the site's
// days from first to last (site-local days in p's zone).
func (p plan) dayStates(ctx context.Context, db storage.SQL, first, last time.Time) (map[time.Time]*dayState, error) {
	out := map[time.Time]*dayState{}
	get := func(d time.Time) *dayState {
		if out[d] == nil {
			out[d] = &dayState{}
		}
		return out[d]
	}
	site := storage.Quote(p.q.SiteID)
	rows, err := db.QuerySQL(ctx, "SELECT toString(toDate(slot, "+p.tzLit()+")) AS d, sum(n) FROM daily_stats_slots WHERE site_id = "+site+
		" AND slot >= "+timeLit(p.dayStart(first))+" AND slot < "+timeLit(p.dayStart(last.AddDate(0, 0, 1)))+" GROUP BY d")
	if err != nil {
		return nil, fmt.Errorf("summary state: %w", err)
	}
	for i := range rows.Values {
		var d string
		var n uint64
		if err := rows.Scan(i, &d, &n); err != nil {
			return nil, fmt.Errorf("summary state: %w", err)
		}
		day, err := parseDay(d)
		if err != nil {
			return nil, fmt.Errorf("summary state: %w", err)
		}
		get(day).changes = n
	}
	rows, err = db.QuerySQL(ctx, "SELECT toString(day), max(gen), argMax(covered, gen), argMax(tz, gen) FROM daily_stats_done WHERE site_id = "+site+
		" AND day >= "+dayLit(first)+" AND day <= "+dayLit(last)+" GROUP BY day")
	if err != nil {
		return nil, fmt.Errorf("summary state: %w", err)
	}
	for i := range rows.Values {
		var d string
		var s dayState
		if err := rows.Scan(i, &d, &s.gen, &s.covered, &s.tz); err != nil {
			return nil, fmt.Errorf("summary state: %w", err)
		}
		day, err := parseDay(d)
		if err != nil {
			return nil, fmt.Errorf("summary state: %w", err)
		}
		st := get(day)
		st.gen, st.covered, st.tz = s.gen, s.covered, s.tz
	}
	return out, nil
}

// source chooses, per day of the period, summary or raw rows: a day is
// read from its summary when the query has no filter, the day lies
// wholly inside the period and its summary is fresh in the query's zone;
// a breakdown by a dimension with day prefixes (prefix.go) reads the hits
// of another day from its fresh prefix and tail when the period holds it.
// A sampled query (the base visitors of a goal) reads the same sample of
// every day, so that its rates compare like with like.
func (p plan) source(ctx context.Context, db storage.SQL) (source, error) {
	all := source{raw: rawPart{all: true}}
	if p.q.NoSummaries || len(p.q.Filters) > 0 || p.sample > 1 {
		return all, nil
	}
	days := p.days()
	var whole []time.Time
	for _, d := range days {
		if p.wholeDay(d) {
			whole = append(whole, d)
		}
	}
	states := map[time.Time]*dayState{}
	if len(whole) > 0 {
		var err error
		if states, err = p.dayStates(ctx, db, whole[0], whole[len(whole)-1]); err != nil {
			return source{}, err
		}
	}
	var pairs []string
	var raw []time.Time
	for _, d := range days {
		if st := states[d]; st != nil && st.fresh(p.loc.String()) && p.wholeDay(d) {
			pairs = append(pairs, fmt.Sprintf("(%s, toUInt64(%d))", dayLit(d), st.gen))
			continue
		}
		raw = append(raw, d)
	}
	counted, raw, err := p.countedDays(ctx, db, states, raw)
	if err != nil {
		return source{}, err
	}
	var prefixes []dayPrefix
	if slices.Contains(prefixDimensions, p.q.Dimension) {
		if prefixes, err = p.usablePrefixes(ctx, db, raw); err != nil {
			return source{}, err
		}
	}
	if len(pairs) == 0 && len(prefixes) == 0 && len(counted) == 0 {
		return all, nil
	}
	src := source{raw: rawPart{days: raw, prefixes: prefixes}}
	if len(pairs) > 0 {
		src.summary = "(day, gen) IN (" + strings.Join(pairs, ", ") + ")"
	}
	if len(counted) > 0 {
		src.counted = "day IN (" + strings.Join(counted, ", ") + ")"
	}
	return src, nil
}

// countedDays splits the raw days into those the day counts answer (as
// Date literals) and the rest: a whole day of the period whose counts, in
// the query's zone, cover every row stored for it (their n, on the whole
// site's rows, is the day's changes counter; see storage.DayCounter).
func (p plan) countedDays(ctx context.Context, db storage.SQL, states map[time.Time]*dayState, raw []time.Time) (counted []string, rest []time.Time, err error) {
	var lits []string
	for _, d := range raw {
		if st := states[d]; st != nil && st.changes > 0 && p.wholeDay(d) {
			lits = append(lits, dayLit(d))
		}
	}
	if len(lits) == 0 {
		return nil, raw, nil
	}
	rows, err := db.QuerySQL(ctx, "SELECT toString(day), sum(n) FROM day_counts WHERE site_id = "+storage.Quote(p.q.SiteID)+
		" AND tz = "+p.tzLit()+" AND dimension = '' AND day IN ("+strings.Join(lits, ", ")+") GROUP BY day")
	if err != nil {
		return nil, nil, fmt.Errorf("day counts: %w", err)
	}
	covered := map[time.Time]bool{}
	for i := range rows.Values {
		var s string
		var n uint64
		if err := rows.Scan(i, &s, &n); err != nil {
			return nil, nil, fmt.Errorf("day counts: %w", err)
		}
		d, err := parseDay(s)
		if err != nil {
			return nil, nil, fmt.Errorf("day counts: %w", err)
		}
		covered[d] = states[d] != nil && n == states[d].changes
	}
	for _, d := range raw {
		if covered[d] {
			counted = append(counted, dayLit(d))
			continue
		}
		rest = append(rest, d)
	}
	return counted, rest, nil
}

// wholeDay reports whether the site-local day d lies wholly inside the
// period (only such a day can be read from its summary).
func (p plan) wholeDay(d time.Time) bool {
	return !p.dayStart(d).Before(p.q.From) && !p.dayStart(d.AddDate(0, 0, 1)).After(p.q.To)
}

// summaryColumns are daily_stats' columns in dayCols order after d and k.
const summaryColumns = "site_id, dimension, day, gen, value, visitors, pageviews, events, engagements, engagement_ms, scroll_sum, " +
	"visits, bounces, duration_s, session_pageviews, session_events"

// Summarise computes the summary of one site-local day (a midnight as
// Days returns it) in zone tz and records it as covering the day's
// changes counter covered (read before it began: a batch stored meanwhile
// leaves the counter above it, and the day is summarised again). The rows
// of the new generation are all written before the record that makes
// readers use them.
//
// It returns the new generation.
func Summarise(ctx context.Context, db storage.SQL, siteID, tz string, day time.Time, covered uint64) (uint64, error) {
	p, err := dayPlan(siteID, tz, day)
	if err != nil {
		return 0, fmt.Errorf("summarise: %w", err)
	}
	gen := uint64(time.Now().UnixNano())
	for _, name := range summaryDimensions() {
		rows, _, err := p.rawDimensionRows(rawPart{all: true}, name)
		if err != nil {
			return 0, err
		}
		if err := p.insertSummary(ctx, db, gen, storage.Quote(name), rows); err != nil {
			return 0, fmt.Errorf("summarise %s %s by %q: %w", siteID, day.Format(time.DateOnly), name, err)
		}
	}
	if err := p.insertSummary(ctx, db, gen, "dim", p.propRows()); err != nil {
		return 0, fmt.Errorf("summarise %s %s by props: %w", siteID, day.Format(time.DateOnly), err)
	}
	err = db.InsertRowSQL(ctx, "INSERT INTO daily_stats_done (site_id, tz, day, gen, covered)", siteID, tz, day, gen, covered)
	if err != nil {
		return 0, fmt.Errorf("summarise %s %s: record: %w", siteID, day.Format(time.DateOnly), err)
	}
	return gen, nil
}

// CountDay writes the counts of one site-local day (a midnight as Days
// returns it) in zone tz into day_counts, every dimension's, computed
// from its raw rows and covering the day's changes counter as it is now:
// what the Batcher's DayCounter would have counted had it stored the day,
// for a day stored by other means (the benchmarks' data sets). Rows
// stored meanwhile leave the counts short, and the day is read raw.
func CountDay(ctx context.Context, db storage.SQL, siteID, tz string, day time.Time) error {
	p, err := dayPlan(siteID, tz, day)
	if err != nil {
		return fmt.Errorf("count day: %w", err)
	}
	states, err := p.dayStates(ctx, db, day, day)
	if err != nil {
		return err
	}
	var n uint64
	if st := states[day]; st != nil {
		n = st.changes
	}
	insert := func(dim, rows, group string) error {
		covered := "toUInt64(0)"
		if dim == "''" {
			covered = fmt.Sprintf("toUInt64(%d)", n)
		}
		err := db.ExecSQL(ctx, "INSERT INTO day_counts ("+storage.DayCountColumns+") SELECT "+storage.Quote(siteID)+", "+p.tzLit()+
			", d, "+dim+", k, "+covered+", "+p.sums()+" FROM ("+rows+") GROUP BY d, "+group)
		if err != nil {
			return fmt.Errorf("count %s %s by %s: %w", siteID, day.Format(time.DateOnly), dim, err)
		}
		return nil
	}
	for _, name := range summaryDimensions() {
		rows, _, err := p.rawDimensionRows(rawPart{all: true}, name)
		if err != nil {
			return err
		}
		if err := insert(storage.Quote(name), rows, "k"); err != nil {
			return err
		}
	}
	return insert("dim", p.propRows(), "dim, k")
}

// dayPlan is the plan of one site-local day (a midnight as days returns
// it) of a site in zone tz.
func dayPlan(siteID, tz string, day time.Time) (plan, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return plan{}, fmt.Errorf("time zone %q: %w", tz, err)
	}
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	end := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
	return plan{q: Query{SiteID: siteID, From: start, To: end, Timezone: tz}, loc: loc}, nil
}

// insertSummary writes the dayCols rows, grouped by day and value, into
// daily_stats under generation gen, with dim (an SQL expression: a quoted
// name, or the rows' own dim column) as their dimension.
func (p plan) insertSummary(ctx context.Context, db storage.SQL, gen uint64, dim, rows string) error {
	group := " GROUP BY d, k"
	if dim == "dim" {
		group = " GROUP BY d, dim, k"
	}
	return db.ExecSQL(ctx, "INSERT INTO daily_stats ("+summaryColumns+") SELECT "+storage.Quote(p.q.SiteID)+", "+dim+
		fmt.Sprintf(", d, toUInt64(%d), k, %s FROM (", gen, p.sums())+rows+")"+group)
}

// propRows are the dayCols rows of every property of p's custom events,
// with the dimension ("prop:KEY") as dim: each event counts under the
// first value of each key it carries, as a prop:KEY breakdown counts it.
func (p plan) propRows() string {
	return "SELECT toDate(ts, " + p.tzLit() + ") AS d, concat(" + storage.Quote(PropPrefix) + ", prop_key) AS dim, prop_value AS k, " + eventSums +
		" FROM events ARRAY JOIN props.key AS prop_key, props.value AS prop_value, arrayEnumerate(props.key) AS prop_index " + p.eventClauses(dimensions["event"].kind) +
		" AND indexOf(props.key, prop_key) = prop_index GROUP BY d, dim, k"
}

// Summarizer keeps the summaries of the sites' finished days current: on
// every pass it summarises each day (newest first) whose changes counter
// moved since its summary, or that has none, once the day has been over
// for Settle (visits going on after midnight change it until then, and it
// is read raw meanwhile); then the prefix of each day not yet settled
// (prefix.go).
type Summarizer struct {
	DB    storage.SQL
	Sites []mote.Site
	// Every is the time between passes; default 20 s, so that a summary
	// follows late data within a minute (reads are exact meanwhile).
	Every time.Duration
	// Settle is how long after a day's end it is first summarised;
	// default 1 h.
	Settle time.Duration
	Now    func() time.Time
	Log    *slog.Logger
	// OnDay, if set, hears after each day summarised how many of the
	// pass's days are done (mote migrate draws its progress bar).
	OnDay func(done, total int)

	pending atomic.Int64  // days to summarise, as of the latest pass
	built   atomic.Uint64 // days summarised since start
}

// SummaryProgress is what a Summarizer has done and has left.
type SummaryProgress struct {
	Pending int64  // days waiting for a summary at the latest pass
	Built   uint64 // days summarised since the start
}

// Progress reports the Summarizer's counters (for /metrics and the log).
func (s *Summarizer) Progress() SummaryProgress {
	return SummaryProgress{Pending: s.pending.Load(), Built: s.built.Load()}
}

// Run makes passes until ctx ends.
func (s *Summarizer) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = 20 * time.Second
	}
	for {
		if _, err := s.Pass(ctx); err != nil && ctx.Err() == nil {
			s.log().Warn("summaries not brought up to date; cards read raw rows meanwhile", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func (s *Summarizer) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Pass summarises every day that needs it and returns how many it did.
func (s *Summarizer) Pass(ctx context.Context) (int, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	settle := s.Settle
	if settle <= 0 {
		settle = time.Hour
	}
	type job struct {
		site, tz string // tz as readers compare it (loc.String())
		day      time.Time
		covered  uint64
		replaces bool // the day has an older summary or prefixes
	}
	var jobs []job
	var prefixJobs []prefixJob
	for _, site := range s.Sites {
		tz := site.Zone()
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return 0, fmt.Errorf("summaries of %s: time zone %q: %w", site.ID, tz, err)
		}
		p := plan{q: Query{SiteID: site.ID, Timezone: tz}, loc: loc}
		// Days settled by now: those ending at least settle ago.
		end := now().Add(-settle).In(loc)
		last := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
		states, err := p.dayStates(ctx, s.DB, epochDay, last)
		if err != nil {
			return 0, err
		}
		prefixed, err := p.prefixedDays(ctx, s.DB, last)
		if err != nil {
			return 0, err
		}
		for d, st := range states {
			if st.changes > 0 && !st.fresh(loc.String()) {
				jobs = append(jobs, job{site.ID, loc.String(), d, st.changes, st.gen != 0 || prefixed[d]})
			}
		}
		// The days after: a prefix each, up to a minute ago.
		local := now().In(loc)
		today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
		for d := last.AddDate(0, 0, 1); !d.After(today); d = d.AddDate(0, 0, 1) {
			prefixJobs = append(prefixJobs, prefixJob{p, d, now()})
		}
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].day.After(jobs[j].day) })
	s.pending.Store(int64(len(jobs)))
	if len(jobs) > 1 {
		s.log().Info("building summaries", "days", len(jobs))
	}
	for i, j := range jobs {
		gen, err := Summarise(ctx, s.DB, j.site, j.tz, j.day, j.covered)
		if err != nil {
			return i, err
		}
		if j.replaces {
			s.dropBefore(ctx, j.site, j.day, gen)
		}
		s.built.Add(1)
		s.pending.Add(-1)
		if s.OnDay != nil {
			s.OnDay(i+1, len(jobs))
		}
		if n := len(jobs); n > 10 && (i+1)%10 == 0 {
			s.log().Info("building summaries", "done", i+1, "of", n)
		}
	}
	for _, j := range prefixJobs {
		if err := s.prefix(ctx, j); err != nil {
			return len(jobs), err
		}
	}
	return len(jobs), nil
}

// dropBefore deletes the rows of a day's generations older than gen (its
// older summaries and prefixes), which no reader uses any more (readers
// take the latest, and prefer a fresh summary). A failure only costs disk
// until the next rebuild of the day, so it is logged, not returned.
func (s *Summarizer) dropBefore(ctx context.Context, siteID string, day time.Time, gen uint64) {
	where := " DELETE WHERE site_id = " + storage.Quote(siteID) + " AND day = " + dayLit(day) + fmt.Sprintf(" AND gen < %d", gen)
	for _, table := range []string{"daily_stats", "daily_stats_done", "daily_stats_prefixes"} {
		if err := s.DB.ExecSQL(ctx, "ALTER TABLE "+storage.MutationTarget(s.DB, table)+where); err != nil && ctx.Err() == nil {
			s.log().Warn("superseded day summary not deleted; kept until the day is rebuilt", "site", siteID, "day", day.Format(time.DateOnly), "err", err)
		}
	}
}
