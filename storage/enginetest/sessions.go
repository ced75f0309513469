package enginetest

import (
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// testSessionWriter writes a visit's updates (state, then cancel + new
// state) through a SessionWriter and reads the visit back the way the
// dashboards do, weighted by sign, before any merge has collapsed it.
func testSessionWriter(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	w := storage.NewSessionWriter(e, storage.SessionWriterConfig{})
	start := time.Date(2026, 3, 1, 23, 50, 0, 0, time.UTC)
	first := mote.SessionRow{
		SiteID: "demo", SessionID: 42, VisitorID: 7, StartTS: start, EndTS: start,
		Hostname: "example.com", EntryPage: "/it's", ExitPage: "/it's", Pageviews: 1, Bounce: 1,
		ReferrerHost: "news.ycombinator.com", ReferrerSource: "Hacker News", Channel: "social",
		UTMCampaign: "spring\nsale\\", Country: "DE", Browser: "Firefox", Device: "desktop", Screen: "laptop",
		Sign: 1, Version: 1,
	}
	w.Append(&first)
	if err := w.Flush(c); err != nil {
		t.Fatal(err)
	}
	cancel := first
	cancel.Sign = -1
	second := first
	second.EndTS = start.Add(15 * time.Minute) // across midnight: start_ts decides the partition
	second.ExitPage, second.Pageviews, second.Bounce, second.DurationS, second.Version = "/b", 2, 0, 900, 2
	w.Append(&cancel, &second)
	if err := w.Flush(c); err != nil {
		t.Fatal(err)
	}
	if st := w.Counters(); st.Written != 3 || st.Pending != 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v, want 3 written", st)
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

	// Two more updates within one flush: the state of version 3 and its
	// cancel cancel each other and are left out; what reaches the table is
	// the cancel of version 2 (stored before) and the state of version 4.
	cancel2 := second
	cancel2.Sign = -1
	third := second
	third.ExitPage, third.Pageviews, third.Version = "/c", 3, 3
	cancel3 := third
	cancel3.Sign = -1
	fourth := third
	fourth.ExitPage, fourth.Pageviews, fourth.Version = "/d", 4, 4
	w.Append(&cancel2, &third, &cancel3, &fourth)
	if err := w.Flush(c); err != nil {
		t.Fatal(err)
	}
	if st := w.Counters(); st.Written != 5 || st.Collapsed != 2 || st.Pending != 0 {
		t.Fatalf("stats %+v, want 5 written and 2 collapsed", st)
	}
	var rows uint64
	err = storage.QueryRow(c, e, `SELECT count(), sum(sign), sum(pageviews * sign), argMax(exit_page, version) FROM sessions WHERE site_id = 'demo'`,
		&rows, &visits, &pageviews, &exit)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 5 || visits != 1 || pageviews != 4 || exit != "/d" {
		t.Fatalf("after a collapsed update: %d rows, visits %d pageviews %d exit %q; want 5 rows, 1 visit of 4 pageviews ending on /d",
			rows, visits, pageviews, exit)
	}
}
