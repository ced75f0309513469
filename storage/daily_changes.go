package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/mote-analytics/mote"
)

// ChangeSlot is the length of a slot of daily_stats_slots: 15 minutes, so
// that the day of every time zone (some are offset by 30 or 45 minutes
// from UTC) is a whole number of slots.
const ChangeSlot = 15 * time.Minute

// changeKey is one site's slot, as Unix seconds of its start.
type changeKey struct {
	site string
	slot int64
}

// slotCount is what a batch adds to a slot's counters: n counts every row
// that changes the slot's days (the summaries' counter), hits its events
// rows (the day prefixes' counter).
type slotCount struct{ n, hits uint64 }

// dayChanges collects the slots a batch changes: where its events fall,
// and the first and last hit of each of its visits (a visit counts on
// every day it touches, and its new state changes each of them; the days
// between the two are marked every 12 hours, which falls in every day,
// including a 25-hour one).
type dayChanges map[changeKey]slotCount

// add adds n rows, hits of them events, to the slot of t.
func (c dayChanges) add(site string, t time.Time, n, hits uint64) {
	k := changeKey{site, t.Truncate(ChangeSlot).Unix()}
	s := c[k]
	s.n += n
	s.hits += hits
	c[k] = s
}

// addEvents marks the slots of events in both counters: a day's summary
// and its prefix summary (stats, "Day prefixes") both count them.
func (c dayChanges) addEvents(events []mote.Event) {
	for i := range events {
		c.add(events[i].SiteID, events[i].TS, 1, 1)
	}
}

func (c dayChanges) addSessions(rows []mote.SessionRow) {
	for i := range rows {
		r := &rows[i]
		sessionMarks(r, func(t time.Time) { c.add(r.SiteID, t, 1, 0) })
	}
}

// sessionMarks calls mark with each instant whose slot a sessions row
// changes: its first and last hit, and every 12 hours between.
func sessionMarks(r *mote.SessionRow, mark func(t time.Time)) {
	for t := r.StartTS; t.Before(r.EndTS); t = t.Add(12 * time.Hour) {
		mark(t)
	}
	mark(r.EndTS)
}

// write adds the collected counts to daily_stats_slots, in one insert. A
// repeated write after a failure only adds to counters, which at worst has
// a summary rebuilt.
func (c dayChanges) write(ctx context.Context, db SQL) error {
	rows := make([][]any, 0, len(c))
	for k, s := range c {
		rows = append(rows, []any{k.site, time.Unix(k.slot, 0).UTC(), s.n, s.hits})
	}
	if err := db.InsertRowsSQL(ctx, "INSERT INTO daily_stats_slots (site_id, slot, n, hits)", rows); err != nil {
		return fmt.Errorf("mark changed days: %w", err)
	}
	return nil
}

// MarkChanges adds the slots of events and sessions rows to
// daily_stats_slots, as the Batcher does after it stores them: for
// writers that store rows by another way (the test fixtures).
func MarkChanges(ctx context.Context, db SQL, events []mote.Event, sessions []mote.SessionRow) error {
	c := dayChanges{}
	c.addEvents(events)
	c.addSessions(sessions)
	if len(c) == 0 {
		return nil
	}
	return c.write(ctx, db)
}

// MarkStoredDays marks every day db's events fall on as changed, so that
// the Summarizer builds (or rebuilds) the summary and prefix of each:
// after rows were stored without the Batcher (mote storage copy).
// Migrations 0009 and 0010 run the same statement for the days stored
// before summaries and prefixes existed.
func MarkStoredDays(ctx context.Context, db SQL) error {
	err := db.ExecSQL(ctx, "INSERT INTO daily_stats_slots (site_id, slot, n, hits) "+
		"SELECT site_id, toStartOfFifteenMinutes(ts) AS slot, count(), count() FROM events GROUP BY site_id, slot")
	if err != nil {
		return fmt.Errorf("mark stored days: %w", err)
	}
	return nil
}
