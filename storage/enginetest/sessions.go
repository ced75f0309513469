package enginetest

import (
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// testSessions writes a visit's updates (state, then cancel + new state)
// as the Batcher does (InsertSessionRows, under a batch id) and reads the
// visit back the way the dashboards do, weighted by sign, before any merge
// has collapsed it, and the way a restarting collector does
// (ActiveSessions).
func testSessions(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	start := time.Date(2026, 3, 1, 23, 50, 0, 0, time.UTC)
	first := mote.SessionRow{
		SiteID: "demo", SessionID: 42, VisitorID: 7, StartTS: start, EndTS: start,
		Hostname: "example.com", EntryPage: "/it's", ExitPage: "/it's", Pageviews: 1, Bounce: 1,
		ReferrerHost: "news.ycombinator.com", ReferrerSource: "Hacker News", Channel: "social",
		UTMCampaign: "spring\nsale\\", Country: "DE", Browser: "Firefox", Device: "desktop", Screen: "laptop",
		Sign: 1, Version: 1,
	}
	first.BatchID, first.SpoolID = 11, 5
	if err := storage.InsertSessionRows(c, e, []mote.SessionRow{first}); err != nil {
		t.Fatal(err)
	}
	cancel := first
	cancel.Sign = -1
	second := first
	second.EndTS = start.Add(15 * time.Minute) // across midnight: start_ts decides the partition
	second.ExitPage, second.Pageviews, second.Bounce, second.DurationS, second.Version = "/b", 2, 0, 900, 2
	cancel.BatchID, second.BatchID = 12, 12
	cancel.SpoolID, second.SpoolID = 5, 5
	if err := storage.InsertSessionRows(c, e, []mote.SessionRow{cancel, second}); err != nil {
		t.Fatal(err)
	}
	var visits, pageviews, bounces, duration int64
	var entry, exit, campaign string
	err := storage.QueryRow(c, e, `SELECT sum(sign), sum(pageviews * sign), sum(bounce * sign), sum(duration_s * sign),
		any(entry_page), argMax(exit_page, version), any(utm_campaign) FROM sessions WHERE site_id = 'demo'`,
		&visits, &pageviews, &bounces, &duration, &entry, &exit, &campaign)
	if err != nil {
		t.Fatal(err)
	}
	if visits != 1 || pageviews != 2 || bounces != 0 || duration != 900 || entry != "/it's" || exit != "/b" || campaign != "spring\nsale\\" {
		t.Fatalf("visit read back: visits %d pageviews %d bounces %d duration %d entry %q exit %q campaign %q",
			visits, pageviews, bounces, duration, entry, exit, campaign)
	}

	var batchRows uint64
	if err := storage.QueryRow(c, e, "SELECT count() FROM sessions WHERE batch_id = 12", &batchRows); err != nil || batchRows != 2 {
		t.Fatalf("rows under batch 12: %d (%v), want 2", batchRows, err)
	}

	// The restart's read: the latest state of visits active since a time.
	var got []mote.SessionRow
	collect := func(r *mote.SessionRow) { got = append(got, *r) }
	if err := storage.ActiveSessions(c, e, 5, start.Add(10*time.Minute), 4, collect); err != nil {
		t.Fatal(err)
	}
	second.BatchID, second.SpoolID = 0, 0
	if len(got) != 1 || !got[0].StartTS.Equal(second.StartTS) || !got[0].EndTS.Equal(second.EndTS) {
		t.Fatalf("active sessions\n got %+v\nwant %+v", got, second)
	}
	got[0].StartTS, got[0].EndTS, second.StartTS, second.EndTS = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got[0] != second {
		t.Fatalf("active sessions\n got %+v\nwant %+v", got, second)
	}
	got = nil
	if err := storage.ActiveSessions(c, e, 5, start.Add(16*time.Minute), 0, collect); err != nil || len(got) != 0 {
		t.Fatalf("a visit over by then was read back (%v): %+v", err, got)
	}
	if err := storage.ActiveSessions(c, e, 6, start, 0, collect); err != nil || len(got) != 0 {
		t.Fatalf("another spool's visit was read back (%v): %+v", err, got)
	}
}
