package enginetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

// testRetention: each site loses exactly its rows older than its own
// retention, in events and sessions, and the summaries of those days;
// newer rows and other sites stay.
func testRetention(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	now := recent.Add(24 * time.Hour)
	var events []mote.Event
	var sessions []mote.SessionRow
	for i, age := range []time.Duration{time.Hour, 10 * 24 * time.Hour, 40 * 24 * time.Hour} {
		for _, site := range []string{"short", "default"} {
			ev := Event(i)
			ev.SiteID, ev.TS = site, now.Add(-age)
			events = append(events, ev)
			sessions = append(sessions, mote.SessionRow{SiteID: site, SessionID: uint64(i + 1), StartTS: ev.TS, EndTS: ev.TS, Sign: 1, Version: 1})
		}
	}
	// One batch per month, as the Batcher cuts them.
	byMonth := map[time.Month][]mote.Event{}
	for _, ev := range events {
		byMonth[ev.TS.Month()] = append(byMonth[ev.TS.Month()], ev)
	}
	id := uint64(1)
	for _, evs := range byMonth {
		if err := e.InsertEvents(c, id, evs); err != nil {
			t.Fatal(err)
		}
		id++
	}
	if err := storage.InsertSessionRows(c, e, sessions); err != nil {
		t.Fatal(err)
	}
	if err := storage.MarkChanges(c, e, events, sessions); err != nil {
		t.Fatal(err)
	}
	sites := []mote.Site{{ID: "short", Retention: 30 * 24 * time.Hour}, {ID: "default"}}
	summaries := &stats.Summarizer{DB: e, Sites: sites, Now: func() time.Time { return now.Add(48 * time.Hour) }}
	if n, err := summaries.Pass(c); err != nil || n != 6 {
		t.Fatalf("summarised %d days (%v), want the 3 days of each site", n, err)
	}
	n, err := storage.EnforceRetention(c, e, sites, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("asked to delete %d rows, want the 40-day-old event and session of site short", n)
	}
	// Mutations run in the background: wait for them. The summaries of
	// the deleted day go too (days with a summary row, and the days the
	// bookkeeping knows).
	want := "events default=3 short=2, sessions default=3 short=2, daily_stats default=3 short=2, " +
		"daily_stats_done default=3 short=2, daily_stats_slots default=3 short=2"
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var parts []string
		for _, tc := range []struct{ table, day string }{{"events", "toDate(ts)"}, {"sessions", "toDate(start_ts)"},
			{"daily_stats", "day"}, {"daily_stats_done", "day"}, {"daily_stats_slots", "toDate(slot)"}} {
			const perSite = "SELECT arrayStringConcat(groupArray(s), ' ') FROM (SELECT concat(site_id, '=', toString(uniqExact(%s))) AS s FROM %s GROUP BY site_id ORDER BY site_id)"
			var n string
			if err := storage.QueryRow(c, e, fmt.Sprintf(perSite, tc.day, tc.table), &n); err != nil {
				t.Fatal(err)
			}
			parts = append(parts, tc.table+" "+n)
		}
		got = strings.Join(parts, ", ")
		if got == want {
			break
		}
	}
	if got != want {
		t.Fatalf("rows per site after retention: %q, want %q", got, want)
	}
	if n, err := storage.EnforceRetention(c, e, sites, now); err != nil || n != 0 {
		t.Errorf("second run asked to delete %d rows (%v), want 0", n, err)
	}
}
