package storage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spaolacci/murmur3"

	"github.com/mote-analytics/mote"
)

// Counted days. A finished day is read from its summary (storage/stats,
// "Summaries"); today was read from its raw hits, and at 100M events a
// month an exact distinct count over a day of 3.3M hits costs more than
// every other part of a card together (bench/BENCHMARKS.md, "the floor of
// today"). So the Batcher also counts, as it stores each batch, what the
// batch adds to each day around now, per dimension and value, into
// day_counts (a SummingMergeTree), exactly as storage/stats reads a day
// from its raw rows: a hit adds its page view, event or engagement to the
// whole site and to each dimension it counts under (page, event name,
// property, browser and OS version); a visit's update adds its new state
// and takes away its previous one (the cancel row) under each of its
// properties (entry and exit page, source, campaign, geo, device), on
// every day the visit touches; and a visitor counts under a value by the
// first row that pairs them with it that day (for the exit page, which
// changes while a visit goes on, while one of their visits ends there).
//
// Knowing a pair is new takes the day's pairs so far: a DayCounter loads
// them from storage (as hashes) the first time a batch touches that day,
// so a restarted collector goes on where the stored rows are, and adds
// every pair it counts. That makes the counts exact while each visitor's
// hits reach one collector, which the design already asks of visits (the
// load balancer hashes by client address, and a visitor id is a keyed
// hash of that address): a visitor moved to another collector mid-day (a
// collector added or removed) counts once more, as their visit is split
// once. A pair is a 64-bit hash, as a visitor id is: that any two of a
// day's pairs share one has odds of about 5 in a million at 100M events
// a month (13M pairs; a collision would leave one visitor uncounted under
// one value). The pairs cost memory: 23-29 bytes each in a Go map
// (measured with 1.3M and 13M), some 13M a day at 100M events a month
// (~300 MB), 1.3M at 10M (~38 MB); yesterday's are kept for the first
// two hours of today only.
//
// A reader uses a day's counts only while they cover every row stored for
// the day: day_counts.n adds up what each batch added to the day's slots
// in daily_stats_slots.n (the summaries' change counter), so the two agree
// only if every batch that changed the day was counted, once. A crash
// between the two writes, a batch found already stored on a replay (not
// counted again: its rows were counted, or not, by the process that
// stored them), a counts insert that failed but was stored and is
// repeated, rows stored by other means, or a day begun before counting
// existed: the two differ and the day is read from its raw rows, exact as
// before, until it is summarised.

// CountedHits are the events every metric counts: page views, custom
// events, and engagement beacons that belong to a visit. An engagement
// beacon can outlive its visit: sent when a tab closes after 30 idle
// minutes, or after midnight, when the visitor's id changes with the
// day's salt. The collector stores it without a session (session_id 0),
// and it counts nowhere: otherwise its fresh visitor id would be a
// visitor without a visit (the demo showed more visitors than visits on a
// day's first hours). Counted (below) is the same test in Go.
const CountedHits = "(kind IN ('pageview', 'event') OR (kind = 'engagement' AND session_id != 0))"

// Counted reports whether e is one of CountedHits.
func Counted(e *mote.Event) bool {
	return e.Kind == mote.KindPageview || e.Kind == mote.KindEvent || e.Kind == mote.KindEngagement && e.SessionID != 0
}

// SessionSlack is how long before a day a visit may have started and
// still count on it: a visit with hits for over a day without a 30-minute
// pause is a robot's. The readers' period conditions (storage/stats) and
// the counts share it.
const SessionSlack = 24 * time.Hour

// The days around now a DayCounter counts, in each site's zone: today,
// tomorrow (a zone's midnight may come first in another batch), and
// yesterday for yesterdayFor after midnight, while visits that crossed
// it still change it; the Summarizer summarises it an hour after its end
// (Summarizer.Settle), and the counter forgets its pairs then: a late
// hit for it is read raw until it is summarised again, as for any
// finished day.
const yesterdayFor = 2 * time.Hour

// PropPrefix starts a property dimension: "prop:plan" is the value of the
// custom event property "plan" (storage/stats reads it so).
const PropPrefix = "prop:"

// eventDim is a dimension counted from hits: value is a counted hit's
// value and whether the dimension counts it; sql and cond say the same of
// a stored row (loading a day's pairs).
type eventDim struct {
	name      string
	value     func(e *mote.Event) (string, bool)
	sql, cond string
}

// eventDims are the dimensions counted from hits ("" is the whole site);
// properties are counted by Count itself.
var eventDims = []eventDim{
	{"", func(*mote.Event) (string, bool) { return "", true }, "''", ""},
	{"page", func(e *mote.Event) (string, bool) {
		return e.Pathname, e.Kind == mote.KindPageview || e.Kind == mote.KindEngagement
	}, "pathname", "kind IN ('pageview', 'engagement')"},
	{"browser_version", func(e *mote.Event) (string, bool) { return e.BrowserVersion, true }, "browser_version", ""},
	{"os_version", func(e *mote.Event) (string, bool) { return e.OSVersion, true }, "os_version", ""},
	{"event", func(e *mote.Event) (string, bool) { return e.Name, e.Kind == mote.KindEvent }, "name", "kind = 'event'"},
}

// sessionDim is a dimension counted from visits: value is a sessions
// row's value, sql the column.
type sessionDim struct {
	name, sql string
	value     func(r *mote.SessionRow) string
}

// exitPage is the one visit property that changes while the visit goes
// on: its visitors are counted while a visit of theirs ends there.
const exitPage = "exit_page"

var sessionDims = []sessionDim{
	{"hostname", "hostname", func(r *mote.SessionRow) string { return r.Hostname }},
	{"entry_page", "entry_page", func(r *mote.SessionRow) string { return r.EntryPage }},
	{exitPage, "exit_page", func(r *mote.SessionRow) string { return r.ExitPage }},
	{"source", "referrer_source", func(r *mote.SessionRow) string { return r.ReferrerSource }},
	{"referrer", "referrer_host", func(r *mote.SessionRow) string { return r.ReferrerHost }},
	{"channel", "channel", func(r *mote.SessionRow) string { return r.Channel }},
	{"utm_source", "utm_source", func(r *mote.SessionRow) string { return r.UTMSource }},
	{"utm_medium", "utm_medium", func(r *mote.SessionRow) string { return r.UTMMedium }},
	{"utm_campaign", "utm_campaign", func(r *mote.SessionRow) string { return r.UTMCampaign }},
	{"utm_term", "utm_term", func(r *mote.SessionRow) string { return r.UTMTerm }},
	{"utm_content", "utm_content", func(r *mote.SessionRow) string { return r.UTMContent }},
	{"country", "country", func(r *mote.SessionRow) string { return r.Country }},
	{"region", "region", func(r *mote.SessionRow) string { return r.Region }},
	{"city", "city", func(r *mote.SessionRow) string { return r.City }},
	{"browser", "browser", func(r *mote.SessionRow) string { return r.Browser }},
	{"os", "os", func(r *mote.SessionRow) string { return r.OS }},
	{"device", "device", func(r *mote.SessionRow) string { return r.Device }},
	{"screen", "screen", func(r *mote.SessionRow) string { return r.Screen }},
}

// CountedDimension says how the day counts count a breakdown dimension
// (not a property): from hits, with its expression on events and the
// kinds it counts, or from visits, with its column of sessions. ok is
// false for a dimension they do not count. storage/stats checks its own
// dimensions against it.
func CountedDimension(name string) (event, kind, session string, ok bool) {
	for _, d := range eventDims {
		if d.name == name && name != "" {
			return d.sql, d.cond, "", true
		}
	}
	for _, d := range sessionDims {
		if d.name == name {
			return "", "", d.sql, true
		}
	}
	return "", "", "", false
}

// dayKey is a site's local day, as the UTC midnight of its date.
type dayKey struct {
	site string
	day  time.Time
}

// dayCount is what rows add to one day_counts row.
type dayCount struct {
	n, pageviews, events, engagements, engagementMS, scrollSum            uint64
	visitors, visits, bounces, durationS, sessionPageviews, sessionEvents int64
}

// dayState is what a DayCounter holds of one counted day.
type dayState struct {
	pairs    map[uint64]struct{}             // pairKey of the (visitor, dimension, value) pairs seen
	exits    map[uint64]int32                // pairKey of (visitor, exit page): the visits ending there
	sessions map[uint64]struct{}             // visits whose pairs are in pairs
	counts   map[string]map[string]*dayCount // not yet written, by dimension and value
}

// row is the pending counts of a dimension's value.
func (st *dayState) row(dim, value string) *dayCount {
	byValue := st.counts[dim]
	if byValue == nil {
		byValue = map[string]*dayCount{}
		st.counts[dim] = byValue
	}
	r := byValue[value]
	if r == nil {
		r = &dayCount{}
		byValue[value] = r
	}
	return r
}

// DayCounter counts stored rows into day_counts for the sites it knows.
// Call Prepare with a batch before it is stored, Count once it is, then
// Write. It is not safe for concurrent use.
type DayCounter struct {
	zones map[string]*time.Location
	now   func() time.Time
	days  map[dayKey]*dayState
	buf   []byte // pairKey's scratch
	last  [4]lastDay
	next  int
	// lastKey and lastState are state's memory.
	lastKey   dayKey
	lastState *dayState
	// visits is Count's scratch.
	visits map[visitKey]*visitSum
}

// NewDayCounter counts the days of sites (a site whose zone does not load
// is not counted: its days are read raw). now is the clock that says
// which days are around now; nil means time.Now.
func NewDayCounter(sites []mote.Site, now func() time.Time) *DayCounter {
	if now == nil {
		now = time.Now
	}
	c := &DayCounter{zones: map[string]*time.Location{}, now: now, days: map[dayKey]*dayState{},
		visits: map[visitKey]*visitSum{}}
	for _, s := range sites {
		if loc, err := time.LoadLocation(s.Zone()); err == nil {
			c.zones[s.ID] = loc
		}
	}
	return c
}

// localDay is the site-local date of t, as a UTC midnight.
func localDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// dayStart is the instant the site-local day d starts.
func dayStart(d time.Time, loc *time.Location) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}

// around reports whether the local day d is one the counter counts.
func (c *DayCounter) around(d time.Time, loc *time.Location) bool {
	now := c.now()
	today := localDay(now, loc)
	if d.Before(today) {
		return d.Equal(today.AddDate(0, 0, -1)) && now.Before(dayStart(today, loc).Add(yesterdayFor))
	}
	return !d.After(today.AddDate(0, 0, 1))
}

// visitDays calls f with each site-local day a sessions row counts on:
// from its start's to its last hit's, those that began at most
// SessionSlack after it started (as storage/stats's sessionRange).
func (c *DayCounter) visitDays(r *mote.SessionRow, loc *time.Location, f func(d time.Time)) {
	first, last := c.localDay(r.SiteID, loc, r.StartTS), c.localDay(r.SiteID, loc, r.EndTS)
	if first.Equal(last) { // nearly every visit: within its day, and not started before it
		f(first)
		return
	}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if !r.StartTS.Before(dayStart(d, loc).Add(-SessionSlack)) {
			f(d)
		}
	}
}

// localDay is the site-local date of t, remembering the last few days
// asked for: a batch's rows mostly fall on a day of each of a few sites,
// and converting every timestamp to its zone was a tenth of counting a
// batch.
func (c *DayCounter) localDay(site string, loc *time.Location, t time.Time) time.Time {
	for i := range c.last {
		if m := &c.last[i]; m.site == site && !t.Before(m.from) && t.Before(m.to) {
			return m.day
		}
	}
	d := localDay(t, loc)
	c.last[c.next] = lastDay{site: site, day: d, from: dayStart(d, loc), to: dayStart(d.AddDate(0, 0, 1), loc)}
	c.next = (c.next + 1) % len(c.last)
	return d
}

// lastDay is the day DayCounter.localDay answered last.
type lastDay struct {
	site     string
	day      time.Time
	from, to time.Time
}

// pairKey hashes a (visitor, dimension, value) pair as pairSQL does in
// the database: murmurHash3_64 of "visitor:len(dim):dim value", which is
// MurmurHash3 x64 128's halves xor-ed.
func (c *DayCounter) pairKey(visitor uint64, dim, value string) uint64 {
	b := strconv.AppendUint(c.buf[:0], visitor, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(len(dim)), 10)
	b = append(b, ':')
	b = append(b, dim...)
	b = append(b, value...)
	c.buf = b
	h1, h2 := murmur3.Sum128(b)
	return h1 ^ h2
}

// pairSQL is pairKey over the columns visitor_id and the expressions dim
// and value.
func pairSQL(dim, value string) string {
	return "murmurHash3_64(concat(toString(visitor_id), ':', toString(length(" + dim + ")), ':', " + dim + ", " + value + "))"
}

// Prepare loads the pairs stored so far of the counted days that rows
// touch and that it does not hold yet, and forgets the days no longer
// around now. Call it before the rows are stored: pairs loaded after
// would already hold theirs.
func (c *DayCounter) Prepare(ctx context.Context, db SQL, events []mote.Event, sessions []mote.SessionRow) error {
	for k := range c.days {
		if !c.around(k.day, c.zones[k.site]) {
			delete(c.days, k)
			c.lastState = nil
		}
	}
	for i := range events {
		if loc := c.zones[events[i].SiteID]; loc != nil {
			if err := c.load(ctx, db, dayKey{events[i].SiteID, c.localDay(events[i].SiteID, loc, events[i].TS)}, loc); err != nil {
				return err
			}
		}
	}
	for i := range sessions {
		r := &sessions[i]
		loc := c.zones[r.SiteID]
		if loc == nil {
			continue
		}
		var err error
		c.visitDays(r, loc, func(d time.Time) {
			if err == nil {
				err = c.load(ctx, db, dayKey{r.SiteID, d}, loc)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// load reads the pairs of day k from storage, unless held or not around.
func (c *DayCounter) load(ctx context.Context, db SQL, k dayKey, loc *time.Location) error {
	if c.state(k) != nil || !c.around(k.day, loc) {
		return nil
	}
	site, start, end := Quote(k.site), dayStart(k.day, loc), dayStart(k.day.AddDate(0, 0, 1), loc)
	// The events' columns are read in a subquery first: ClickHouse 18.16
	// does not find props.key and props.value inside a lambda.
	cols := []string{"visitor_id", "kind", "props.key AS pk", "props.value AS pv"}
	var dims []string
	for _, d := range eventDims {
		// A hit the dimension does not count gives the whole site's
		// pair, which every counted hit has anyway (ClickHouse 18.16 has
		// no empty array of tuples).
		v := "tuple(" + Quote(d.name) + ", toString(" + d.sql + "))"
		if d.cond != "" {
			v = "if(" + d.cond + ", [" + v + "], [tuple('', '')])"
		} else {
			v = "[" + v + "]"
		}
		dims = append(dims, v)
		if d.name != "" {
			cols = append(cols, d.sql)
		}
	}
	// A property counts under its first value, on custom events.
	dims = append(dims, "if(kind = 'event', arrayMap((k, v, i) -> if(indexOf(pk, k) = i, tuple(concat("+
		Quote(PropPrefix)+", k), v), tuple('', '')), pk, pv, arrayEnumerate(pk)), [tuple('', '')])")
	hits := "SELECT DISTINCT " + pairSQL("dv.1", "dv.2") + " FROM (SELECT visitor_id, arrayConcat(" + strings.Join(dims, ", ") + ") AS dvs FROM (" +
		"SELECT " + strings.Join(cols, ", ") + " FROM events WHERE site_id = " + site + " AND ts >= " + TimeLit(start) + " AND ts < " + TimeLit(end) +
		" AND " + CountedHits + ")) ARRAY JOIN dvs AS dv"
	dims = dims[:0]
	for _, d := range sessionDims {
		if d.name != exitPage {
			dims = append(dims, "tuple("+Quote(d.name)+", toString("+d.sql+"))")
		}
	}
	touching := " WHERE site_id = " + site + " AND start_ts >= " + TimeLit(start.Add(-SessionSlack)) + " AND start_ts < " + TimeLit(end) +
		" AND end_ts >= " + TimeLit(start)
	visits := "SELECT DISTINCT " + pairSQL("dv.1", "dv.2") + " FROM sessions ARRAY JOIN [" + strings.Join(dims, ", ") + "] AS dv" + touching
	exits := "SELECT " + pairSQL("'"+exitPage+"'", "exit_page") + " AS h, count() FROM (SELECT session_id, visitor_id, exit_page FROM sessions" +
		touching + " GROUP BY session_id, visitor_id, exit_page HAVING sum(sign) > 0) GROUP BY h"
	st := &dayState{pairs: map[uint64]struct{}{}, exits: map[uint64]int32{}, sessions: map[uint64]struct{}{}, counts: map[string]map[string]*dayCount{}}
	for _, q := range []string{hits, visits} {
		rows, err := db.QuerySQL(ctx, q)
		if err != nil {
			return fmt.Errorf("pairs of %s's %s so far: %w", k.site, k.day.Format(time.DateOnly), err)
		}
		for j := range rows.Values {
			var h uint64
			if err := rows.Scan(j, &h); err != nil {
				return fmt.Errorf("pairs of %s's %s so far: %w", k.site, k.day.Format(time.DateOnly), err)
			}
			st.pairs[h] = struct{}{}
		}
	}
	rows, err := db.QuerySQL(ctx, exits)
	if err != nil {
		return fmt.Errorf("exit pages of %s's %s so far: %w", k.site, k.day.Format(time.DateOnly), err)
	}
	for j := range rows.Values {
		var h, n uint64
		if err := rows.Scan(j, &h, &n); err != nil {
			return fmt.Errorf("exit pages of %s's %s so far: %w", k.site, k.day.Format(time.DateOnly), err)
		}
		st.exits[h] = int32(n)
	}
	c.days[k] = st
	return nil
}

// state is the held state of day k, or nil, remembering the last one
// asked for (a batch's rows mostly fall on one day).
func (c *DayCounter) state(k dayKey) *dayState {
	if c.lastState != nil && c.lastKey == k {
		return c.lastState
	}
	st := c.days[k]
	if st != nil {
		c.lastKey, c.lastState = k, st
	}
	return st
}

// pair adds the pair to st and reports whether it is new.
func (c *DayCounter) pair(st *dayState, visitor uint64, dim, value string) bool {
	k := c.pairKey(visitor, dim, value)
	if _, ok := st.pairs[k]; ok {
		return false
	}
	st.pairs[k] = struct{}{}
	return true
}

// Count adds stored events and sessions rows to the counts (Prepare saw
// them first). A day Prepare did not load (it came around since) is not
// counted: its n falls short of its slots', and readers read it raw. n
// grows exactly as dayChanges' slots do for the same rows.
func (c *DayCounter) Count(events []mote.Event, sessions []mote.SessionRow) {
	for i := range events {
		e := &events[i]
		loc := c.zones[e.SiteID]
		if loc == nil {
			continue
		}
		st := c.state(dayKey{e.SiteID, c.localDay(e.SiteID, loc, e.TS)})
		if st == nil {
			continue
		}
		st.row("", "").n++
		if !Counted(e) {
			continue
		}
		add := func(dim, value string) {
			r := st.row(dim, value)
			if c.pair(st, e.VisitorID, dim, value) {
				r.visitors++
			}
			switch e.Kind {
			case mote.KindPageview:
				r.pageviews++
			case mote.KindEvent:
				r.events++
			case mote.KindEngagement:
				r.engagements++
				r.engagementMS += uint64(e.EngagementMS)
				r.scrollSum += uint64(e.ScrollDepth)
			}
		}
		for _, d := range eventDims {
			if v, ok := d.value(e); ok {
				add(d.name, v)
			}
		}
		if e.Kind == mote.KindEvent {
			for j, key := range e.PropKeys {
				if slices.Index(e.PropKeys, key) == j {
					add(PropPrefix+key, e.PropValues[j])
				}
			}
		}
	}
	// A batch holds several updates of most of its visits (a cancel and a
	// new state per hit): they are added up per visit and day first, and
	// the visit properties that never change within a visit counted once
	// per visit (counting every row under each of them took as long as
	// storing the batch, bench/BENCHMARKS.md).
	for i := range sessions {
		r := &sessions[i]
		loc := c.zones[r.SiteID]
		if loc == nil {
			continue
		}
		sessionMarks(r, func(t time.Time) {
			if st := c.state(dayKey{r.SiteID, c.localDay(r.SiteID, loc, t)}); st != nil {
				st.row("", "").n++
			}
		})
		sign := int64(r.Sign)
		c.visitDays(r, loc, func(d time.Time) {
			st := c.state(dayKey{r.SiteID, d})
			if st == nil {
				return
			}
			k := visitKey{st, r.SessionID}
			v := c.visits[k]
			if v == nil {
				v = &visitSum{row: r}
				c.visits[k] = v
			}
			v.addVisit(r)
			if r.Sign > 0 {
				v.live, v.row = true, r
			}
			// The exit page changes between a visit's states: each row
			// counts under its own.
			j := slices.IndexFunc(v.exits, func(e exitSum) bool { return e.page == r.ExitPage })
			if j < 0 {
				j = len(v.exits)
				v.exits = append(v.exits, exitSum{page: r.ExitPage})
			}
			v.exits[j].rows += int32(sign)
			v.exits[j].addVisit(r)
		})
	}
	for k, v := range c.visits {
		st, r := k.st, v.row
		st.row("", "").addSum(&v.dayCount)
		// Every state of a visit has the same first-touch values: its
		// pairs are added once a day, with its first live state.
		_, paired := st.sessions[k.session]
		if v.live && !paired {
			st.sessions[k.session] = struct{}{}
		}
		for _, dim := range sessionDims {
			if dim.name == exitPage {
				continue
			}
			value := dim.value(r)
			row := st.row(dim.name, value)
			row.addSum(&v.dayCount)
			if v.live && !paired && c.pair(st, r.VisitorID, dim.name, value) {
				row.visitors++
			}
		}
		// A visitor counts under an exit page while one of their
		// visits ends there.
		for _, e := range v.exits {
			row := st.row(exitPage, e.page)
			row.addSum(&e.dayCount)
			if e.rows == 0 {
				continue
			}
			key := c.pairKey(r.VisitorID, exitPage, e.page)
			before := st.exits[key] > 0
			st.exits[key] += e.rows
			switch after := st.exits[key] > 0; {
			case after && !before:
				row.visitors++
			case before && !after:
				row.visitors--
			}
		}
	}
	clear(c.visits)
}

// exitSum is what a batch's rows of one visit add under one exit page:
// their signed sums, and how many rows (+1 a state, -1 a cancel).
type exitSum struct {
	dayCount
	page string
	rows int32
}

// visitKey is a visit on a counted day.
type visitKey struct {
	st      *dayState
	session uint64
}

// visitSum is what a batch's rows of one visit add to a day: their
// signed sums, one of them (a live one if any) for the visit's values,
// and their sums per exit page.
type visitSum struct {
	dayCount
	row   *mote.SessionRow
	live  bool
	exits []exitSum
}

// addVisit adds a sessions row's signed sums.
func (r *dayCount) addVisit(s *mote.SessionRow) {
	sign := int64(s.Sign)
	r.visits += sign
	r.bounces += sign * int64(s.Bounce)
	r.durationS += sign * int64(s.DurationS)
	r.sessionPageviews += sign * int64(s.Pageviews)
	r.sessionEvents += sign * int64(s.Events)
}

// addSum adds o's visit sums.
func (r *dayCount) addSum(o *dayCount) {
	r.visits += o.visits
	r.bounces += o.bounces
	r.durationS += o.durationS
	r.sessionPageviews += o.sessionPageviews
	r.sessionEvents += o.sessionEvents
}

// DayCountColumns are day_counts' columns in the order Write sends them.
const DayCountColumns = "site_id, tz, day, dimension, value, n, visitors, pageviews, events, engagements, engagement_ms, scroll_sum, " +
	"visits, bounces, duration_s, session_pageviews, session_events"

// Write adds the counts so far to day_counts in one insert and forgets
// them; on an error they are kept for the next Write.
func (c *DayCounter) Write(ctx context.Context, db SQL) error {
	var rows [][]any
	for k, st := range c.days {
		tz := c.zones[k.site].String()
		for dim, byValue := range st.counts {
			for v, r := range byValue {
				rows = append(rows, []any{k.site, tz, k.day, dim, v, r.n, r.visitors, r.pageviews, r.events,
					r.engagements, r.engagementMS, r.scrollSum, r.visits, r.bounces, r.durationS, r.sessionPageviews, r.sessionEvents})
			}
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := db.InsertRowsSQL(ctx, "INSERT INTO day_counts ("+DayCountColumns+")", rows); err != nil {
		return fmt.Errorf("count days: %w", err)
	}
	for _, st := range c.days {
		clear(st.counts)
	}
	return nil
}

// Pairs is how many (visitor, value) pairs and exit pages the counter
// holds: what its memory grows with (23-29 bytes each).
func (c *DayCounter) Pairs() int {
	n := 0
	for _, st := range c.days {
		n += len(st.pairs) + len(st.exits)
	}
	return n
}

// Pending reports whether counts wait for a Write.
func (c *DayCounter) Pending() bool {
	for _, st := range c.days {
		if len(st.counts) > 0 {
			return true
		}
	}
	return false
}

// CountStored counts events and sessions rows that a writer other than
// the Batcher (the test fixtures) stores with store: it prepares before,
// and counts and writes after.
func (c *DayCounter) CountStored(ctx context.Context, db SQL, events []mote.Event, sessions []mote.SessionRow, store func() error) error {
	if err := c.Prepare(ctx, db, events, sessions); err != nil {
		return err
	}
	if err := store(); err != nil {
		return err
	}
	c.Count(events, sessions)
	return c.Write(ctx, db)
}
