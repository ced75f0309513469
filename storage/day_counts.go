package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/mote-analytics/mote"
)

// Counted days. A finished day is read from its summary (storage/stats,
// "Summaries"); today was read from its raw hits, and at 100M events a
// month an exact distinct count over a day of 3.3M hits costs more than
// every other part of a card together (bench/BENCHMARKS.md, "the floor of
// today"). So the Batcher also counts, as it stores each batch, what the
// batch adds to the whole site's counters of each day around now, into
// day_counts (a SummingMergeTree): pageviews, events and engagement add
// up; a visit's update adds its new state and takes away its previous one
// (the cancel row), on every day the visit touches; and a visitor is
// counted by the hit that is the first of the day for its visitor id.
//
// Knowing a hit is the first of its visitor's day takes the day's
// visitors so far: a DayCounter loads them from storage the first time a
// batch holds hits of that day (so a restarted collector goes on where
// the stored rows are) and adds every visitor it counts. That makes the
// counts exact while each visitor's hits reach one collector, which the
// design already asks of visits (the load balancer hashes by client
// address, and a visitor id is a keyed hash of that address): a visitor
// moved to another collector mid-day (a collector added or removed)
// counts once more, as their visit is split once.
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

// countedDays are the days around now a DayCounter counts, in each site's
// zone: yesterday (a visit going on after midnight still changes it) to
// tomorrow (a client clock ahead).
const countedDays = 1

// dayKey is a site's local day, as the UTC midnight of its date.
type dayKey struct {
	site string
	day  time.Time
}

// countKey is one row of day_counts.
type countKey struct {
	dayKey
	dimension, value string
}

// dayCount is what rows add to one day_counts row.
type dayCount struct {
	n, visitors, pageviews, events, engagements, engagementMS, scrollSum uint64
	visits, bounces, durationS, sessionPageviews, sessionEvents          int64
}

// DayCounter counts stored rows into day_counts for the sites it knows.
// Call Prepare with a batch's events before they are stored, Count once
// they are, then Write. It is not safe for concurrent use.
type DayCounter struct {
	zones map[string]*time.Location
	now   func() time.Time
	// seen are the visitor ids of each counted day so far.
	seen   map[dayKey]map[uint64]struct{}
	counts map[countKey]*dayCount
}

// NewDayCounter counts the days of sites (a site whose zone does not load
// is not counted: its days are read raw). now is the clock that says
// which days are around now; nil means time.Now.
func NewDayCounter(sites []mote.Site, now func() time.Time) *DayCounter {
	if now == nil {
		now = time.Now
	}
	c := &DayCounter{zones: map[string]*time.Location{}, now: now, seen: map[dayKey]map[uint64]struct{}{}, counts: map[countKey]*dayCount{}}
	for _, s := range sites {
		tz := s.Timezone
		if tz == "" {
			tz = "UTC"
		}
		if loc, err := time.LoadLocation(tz); err == nil {
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
	today := localDay(c.now(), loc)
	return !d.Before(today.AddDate(0, 0, -countedDays)) && !d.After(today.AddDate(0, 0, countedDays))
}

// Prepare loads the visitors stored so far for the counted days of
// events that it has not seen yet, and forgets the days no longer around
// now. Call it before events are stored: a day's visitors loaded after
// would already hold them.
func (c *DayCounter) Prepare(ctx context.Context, db SQL, events []mote.Event) error {
	for k := range c.seen {
		if loc := c.zones[k.site]; !c.around(k.day, loc) {
			delete(c.seen, k)
		}
	}
	for i := range events {
		e := &events[i]
		loc := c.zones[e.SiteID]
		if loc == nil {
			continue
		}
		k := dayKey{e.SiteID, localDay(e.TS, loc)}
		if _, ok := c.seen[k]; ok || !c.around(k.day, loc) {
			continue
		}
		start := dayStart(k.day, loc)
		rows, err := db.QuerySQL(ctx, "SELECT DISTINCT visitor_id FROM events WHERE site_id = "+Quote(k.site)+
			" AND ts >= "+timeSQL(start)+" AND ts < "+timeSQL(dayStart(k.day.AddDate(0, 0, 1), loc))+" AND "+CountedHits)
		if err != nil {
			return fmt.Errorf("visitors of %s's %s so far: %w", k.site, k.day.Format(time.DateOnly), err)
		}
		set := make(map[uint64]struct{}, len(rows.Values))
		for j := range rows.Values {
			var id uint64
			if err := rows.Scan(j, &id); err != nil {
				return fmt.Errorf("visitors of %s's %s so far: %w", k.site, k.day.Format(time.DateOnly), err)
			}
			set[id] = struct{}{}
		}
		c.seen[k] = set
	}
	return nil
}

// timeSQL is a DateTime literal of t in UTC.
func timeSQL(t time.Time) string {
	return "toDateTime(" + Quote(t.UTC().Format(time.DateTime)) + ", 'UTC')"
}

// row returns the whole site's counts of day d, or nil when d is not
// counted.
func (c *DayCounter) row(site string, loc *time.Location, d time.Time) *dayCount {
	if !c.around(d, loc) {
		return nil
	}
	k := countKey{dayKey: dayKey{site, d}}
	r := c.counts[k]
	if r == nil {
		r = &dayCount{}
		c.counts[k] = r
	}
	return r
}

// Count adds stored events and sessions rows to the counts (Prepare saw
// the events first). n grows exactly as dayChanges' slots do for the same
// rows.
func (c *DayCounter) Count(events []mote.Event, sessions []mote.SessionRow) {
	for i := range events {
		e := &events[i]
		loc := c.zones[e.SiteID]
		if loc == nil {
			continue
		}
		// A day Prepare did not load (it came around since) is not
		// counted: its n falls short, and readers read it raw.
		d := localDay(e.TS, loc)
		seen := c.seen[dayKey{e.SiteID, d}]
		r := c.row(e.SiteID, loc, d)
		if seen == nil || r == nil {
			continue
		}
		r.n++
		if !Counted(e) {
			continue
		}
		if _, ok := seen[e.VisitorID]; !ok {
			seen[e.VisitorID] = struct{}{}
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
	for i := range sessions {
		s := &sessions[i]
		loc := c.zones[s.SiteID]
		if loc == nil {
			continue
		}
		sessionMarks(s, func(t time.Time) {
			if r := c.row(s.SiteID, loc, localDay(t, loc)); r != nil {
				r.n++
			}
		})
		// The visit counts on every day it touches, from its start's to
		// its last hit's, that began at most SessionSlack after it started.
		sign := int64(s.Sign)
		for d, last := localDay(s.StartTS, loc), localDay(s.EndTS, loc); !d.After(last); d = d.AddDate(0, 0, 1) {
			if s.StartTS.Before(dayStart(d, loc).Add(-SessionSlack)) {
				continue
			}
			if r := c.row(s.SiteID, loc, d); r != nil {
				r.visits += sign
				r.bounces += sign * int64(s.Bounce)
				r.durationS += sign * int64(s.DurationS)
				r.sessionPageviews += sign * int64(s.Pageviews)
				r.sessionEvents += sign * int64(s.Events)
			}
		}
	}
}

// DayCountColumns are day_counts' columns in the order Write sends them.
const DayCountColumns = "site_id, tz, day, dimension, value, n, visitors, pageviews, events, engagements, engagement_ms, scroll_sum, " +
	"visits, bounces, duration_s, session_pageviews, session_events"

// Write adds the counts so far to day_counts in one insert and forgets
// them; on an error they are kept for the next Write.
func (c *DayCounter) Write(ctx context.Context, db SQL) error {
	if len(c.counts) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(c.counts))
	for k, r := range c.counts {
		rows = append(rows, []any{k.site, c.zones[k.site].String(), k.day, k.dimension, k.value, r.n, r.visitors, r.pageviews, r.events,
			r.engagements, r.engagementMS, r.scrollSum, r.visits, r.bounces, r.durationS, r.sessionPageviews, r.sessionEvents})
	}
	if err := db.InsertRowsSQL(ctx, "INSERT INTO day_counts ("+DayCountColumns+")", rows); err != nil {
		return fmt.Errorf("count days: %w", err)
	}
	clear(c.counts)
	return nil
}

// Pending reports whether counts wait for a Write.
func (c *DayCounter) Pending() bool { return len(c.counts) > 0 }

// CountStored counts events and sessions rows that a writer other than
// the Batcher (the test fixtures) is about to store: prepare before they
// are stored, then the returned write after.
func (c *DayCounter) CountStored(ctx context.Context, db SQL, events []mote.Event, sessions []mote.SessionRow, store func() error) error {
	if err := c.Prepare(ctx, db, events); err != nil {
		return err
	}
	if err := store(); err != nil {
		return err
	}
	c.Count(events, sessions)
	return c.Write(ctx, db)
}
