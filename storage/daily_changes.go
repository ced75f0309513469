package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/mote-analytics/mote"
)

// ChangeSlot is the length of a slot of daily_stats_changes: 15 minutes,
// so that the day of every time zone (some are offset by 30 or 45 minutes
// from UTC) is a whole number of slots.
const ChangeSlot = 15 * time.Minute

// changeKey is one site's slot, as Unix seconds of its start, in
// daily_stats_changes or, for hits, daily_stats_hit_changes.
type changeKey struct {
	site string
	slot int64
	hits bool
}

// dayChanges collects the slots a batch changes: where its events fall,
// and the first and last hit of each of its visits (a visit counts on
// every day it touches, and its new state changes each of them; the days
// between the two are marked every 12 hours, which falls in every day,
// including a 25-hour one).
type dayChanges map[changeKey]uint64

func (c dayChanges) add(site string, t time.Time, hits bool) {
	c[changeKey{site, t.Truncate(ChangeSlot).Unix(), hits}]++
}

// addEvents marks the slots of events in both tables: a day's summary and
// its prefix summary (stats, "Day prefixes") both count them.
func (c dayChanges) addEvents(events []mote.Event) {
	for i := range events {
		c.add(events[i].SiteID, events[i].TS, false)
		c.add(events[i].SiteID, events[i].TS, true)
	}
}

func (c dayChanges) addSessions(rows []mote.SessionRow) {
	for i := range rows {
		r := &rows[i]
		for t := r.StartTS; t.Before(r.EndTS); t = t.Add(12 * time.Hour) {
			c.add(r.SiteID, t, false)
		}
		c.add(r.SiteID, r.EndTS, false)
	}
}

// write adds the collected counts to daily_stats_changes and
// daily_stats_hit_changes, one insert each. A repeated write after a
// failure only adds to counters, which at worst has a summary rebuilt.
func (c dayChanges) write(ctx context.Context, db SQL) error {
	var all, hits [][]any
	for k, n := range c {
		row := []any{k.site, time.Unix(k.slot, 0).UTC(), n}
		if k.hits {
			hits = append(hits, row)
		} else {
			all = append(all, row)
		}
	}
	for _, t := range []struct {
		table string
		rows  [][]any
	}{{"daily_stats_changes", all}, {"daily_stats_hit_changes", hits}} {
		if len(t.rows) == 0 {
			continue
		}
		if err := db.InsertRowsSQL(ctx, "INSERT INTO "+t.table+" (site_id, slot, n)", t.rows); err != nil {
			return fmt.Errorf("mark changed days: %w", err)
		}
	}
	return nil
}

// MarkChanges adds the slots of events and sessions rows to
// daily_stats_changes, as the Batcher does after it stores them: for
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
// the Summarizer builds (or rebuilds) the summary of each: after rows were
// stored without the Batcher (mote storage copy), and the prefix of every
// day as changed too. Migration 0009 runs the same statement for the days
// stored before summaries existed.
func MarkStoredDays(ctx context.Context, db SQL) error {
	for _, table := range []string{"daily_stats_changes", "daily_stats_hit_changes"} {
		err := db.ExecSQL(ctx, "INSERT INTO "+table+" (site_id, slot, n) "+
			"SELECT site_id, toStartOfFifteenMinutes(ts) AS slot, count() FROM events GROUP BY site_id, slot")
		if err != nil {
			return fmt.Errorf("mark stored days: %w", err)
		}
	}
	return nil
}
