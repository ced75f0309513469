package enginetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// CopyStart is the time of the copy fixture's visit, suppressed counters
// and campaign.
var CopyStart = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// CopySource is an engine a copy fixture can be written to.
type CopySource interface {
	storage.Engine
	storage.SuppressedWriter
	storage.SQL
}

// FillCopySource writes the data set of the storage copy tests into a
// migrated, empty e: five batches of seven events (ids 1 to 5), a visit's
// three rows (a state, its cancel, the next state: one block, as the
// Batcher inserts them, so a merge may not have folded them), 4 suppressed
// hits and a campaign.
func FillCopySource(t *testing.T, e CopySource) CopyFixture {
	t.Helper()
	ctx := context.Background()
	want := map[uint64][]mote.Event{}
	for b := uint64(1); b <= 5; b++ {
		for i := range 7 {
			want[b] = append(want[b], Event(int(b)*100+i))
		}
		if err := e.InsertEvents(ctx, b, want[b]); err != nil {
			t.Fatal(err)
		}
	}
	first := mote.SessionRow{SiteID: "demo", SessionID: 1, VisitorID: 2, StartTS: CopyStart, EndTS: CopyStart, Hostname: "example.com", EntryPage: "/a", ExitPage: "/a",
		Pageviews: 1, Events: 3, DurationS: 0, Bounce: 1, ReferrerHost: "news.ycombinator.com", ReferrerSource: "Hacker News", Channel: "social",
		UTMSource: "hn", UTMMedium: "post", UTMCampaign: "launch", UTMTerm: "t", UTMContent: "c", Country: "FR", Region: "FR-IDF", City: "Paris",
		Browser: "Firefox", OS: "Linux", Device: "desktop", Screen: "laptop", Sign: 1, Version: 1}
	cancel, second := first, first
	cancel.Sign = -1
	second.ExitPage, second.Pageviews, second.Bounce, second.Version, second.EndTS, second.DurationS = "/b", 2, 0, 2, CopyStart.Add(time.Minute), 60
	visit := []mote.SessionRow{first, cancel, second}
	if err := storage.InsertSessionRows(ctx, e, visit); err != nil {
		t.Fatal(err)
	}
	err := e.InsertSuppressed(ctx, []storage.SuppressedCount{{SiteID: "demo", Day: CopyStart, Reason: mote.SuppressDNT, Count: 4}})
	if err != nil {
		t.Fatal(err)
	}
	err = e.InsertRowSQL(ctx, "INSERT INTO campaigns (site_id, campaign_id, name, created, window_end, sends, recipient_key, link_key, updated)",
		"demo", "spring", "Spring", CopyStart, CopyStart.AddDate(0, 0, 30), uint64(100), "6b6579", "6c696e6b", CopyStart)
	if err != nil {
		t.Fatal(err)
	}
	return CopyFixture{Events: want, Visit: visit}
}

// CopyFixture is what FillCopySource wrote.
type CopyFixture struct {
	Events map[uint64][]mote.Event // by batch id
	Visit  []mote.SessionRow       // the sessions rows, as inserted
}

// CopiedTables are the tables besides events that a copy moves, with the
// columns that must arrive unchanged.
var CopiedTables = []struct{ Name, Cols string }{
	{"sessions", storage.SessionColumns},
	{"suppressed", "site_id, day, reason, count"},
	{"campaigns", "site_id, campaign_id, name, created, window_end, sends, recipient_key, link_key, updated"},
}

// ReadAllColumns reads batch b's events from db, every column, ordered by
// visitor id, as FillCopySource wrote them (empty props as nil).
func ReadAllColumns(t *testing.T, db storage.SQL, b uint64) []mote.Event {
	t.Helper()
	cols := make([]string, len(storage.EventColumns))
	for i, c := range storage.EventColumns {
		cols[i] = "`" + c + "`"
	}
	rows, err := db.QuerySQL(context.Background(), fmt.Sprintf("SELECT %s FROM events WHERE batch_id = %d ORDER BY visitor_id", strings.Join(cols, ", "), b))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]mote.Event, len(rows.Values))
	for i := range out {
		ev := &out[i]
		var kind string
		err := rows.Scan(i, &ev.SiteID, &ev.TS, &kind, &ev.Name,
			&ev.Hostname, &ev.Pathname,
			&ev.ReferrerHost, &ev.ReferrerSource, &ev.Channel,
			&ev.UTMSource, &ev.UTMMedium, &ev.UTMCampaign, &ev.UTMTerm, &ev.UTMContent,
			&ev.Country, &ev.Region, &ev.City,
			&ev.Browser, &ev.BrowserVersion, &ev.OS, &ev.OSVersion, &ev.Device, &ev.Screen,
			&ev.VisitorID, &ev.SessionID,
			&ev.EngagementMS, &ev.ScrollDepth,
			&ev.PropKeys, &ev.PropValues,
			&ev.CampaignID, &ev.RecipientID, &ev.MachineOpen, &ev.MachineReason, &ev.LinkURL,
			&ev.BatchID)
		if err != nil {
			t.Fatal(err)
		}
		for k := mote.Kind(1); k.Valid(); k++ {
			if k.String() == kind {
				ev.Kind = k
			}
		}
		ev.TS = ev.TS.UTC()
		if len(ev.PropKeys) == 0 {
			ev.PropKeys, ev.PropValues = nil, nil
		}
	}
	return out
}

// TextRows reads cols of table from db as text, every column through
// toString (so both engines answer in one form), in a stable order.
func TextRows(t *testing.T, db storage.SQL, table, cols string) [][]string {
	t.Helper()
	var sel []string
	for _, c := range strings.Split(cols, ",") {
		sel = append(sel, "toString("+strings.TrimSpace(c)+")")
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + table
	rows, err := db.QuerySQL(context.Background(), q+" ORDER BY "+strings.Join(sel, ", "))
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]string, len(rows.Values))
	for i, r := range rows.Values {
		for _, v := range r {
			out[i] = append(out[i], fmt.Sprint(v))
		}
	}
	return out
}

// ExpectCopied fails unless dst holds every event of events (by batch)
// byte for byte, every column, and the other copied tables row for row as
// src holds them.
func ExpectCopied(t *testing.T, src, dst storage.SQL, events map[uint64][]mote.Event) {
	t.Helper()
	for b, evs := range events {
		got := ReadAllColumns(t, dst, b)
		if len(got) != len(evs) {
			t.Fatalf("batch %d: %d events at the destination, want %d", b, len(got), len(evs))
		}
		for i, e := range evs { // Event's visitor ids grow with i
			e.BatchID = b
			if len(e.PropKeys) == 0 {
				e.PropKeys, e.PropValues = nil, nil
			}
			if !reflect.DeepEqual(got[i], e) {
				t.Errorf("batch %d row %d:\n got %+v\nwant %+v", b, i, got[i], e)
			}
		}
	}
	for _, table := range CopiedTables {
		a, b := TextRows(t, src, table.Name, table.Cols), TextRows(t, dst, table.Name, table.Cols)
		if len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s:\n source      %q\n destination %q", table.Name, a, b)
		}
	}
}
