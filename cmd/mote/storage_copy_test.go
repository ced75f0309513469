package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
	"github.com/mote-analytics/mote/storage/embedded"
	"github.com/mote-analytics/mote/storage/enginetest"
)

// copySource fills an embedded data set for the copy tests: five batches
// of seven events, a visit's three rows, suppressed counters and a
// campaign. It returns the open engine and the events by batch.
func copySource(t *testing.T, lib, dataDir string) (*embedded.Engine, map[uint64][]mote.Event) {
	t.Helper()
	ctx := context.Background()
	src, err := embedded.Open(ctx, embedded.Config{LibPath: lib, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[uint64][]mote.Event{}
	for b := uint64(1); b <= 5; b++ {
		for i := range 7 {
			want[b] = append(want[b], enginetest.Event(int(b)*100+i))
		}
		if err := src.InsertEvents(ctx, b, want[b]); err != nil {
			t.Fatal(err)
		}
	}
	first := mote.SessionRow{SiteID: "demo", SessionID: 1, VisitorID: 2, StartTS: copyStart, EndTS: copyStart, Hostname: "example.com", EntryPage: "/a", ExitPage: "/a",
		Pageviews: 1, Events: 3, DurationS: 0, Bounce: 1, ReferrerHost: "news.ycombinator.com", ReferrerSource: "Hacker News", Channel: "social",
		UTMSource: "hn", UTMMedium: "post", UTMCampaign: "launch", UTMTerm: "t", UTMContent: "c", Country: "FR", Region: "FR-IDF", City: "Paris",
		Browser: "Firefox", OS: "Linux", Device: "desktop", Screen: "laptop", Sign: 1, Version: 1}
	cancel, second := first, first
	cancel.Sign = -1
	second.ExitPage, second.Pageviews, second.Bounce, second.Version, second.EndTS, second.DurationS = "/b", 2, 0, 2, copyStart.Add(time.Minute), 60
	// One block, inserted as the Batcher does (optimize_on_insert off, so
	// the pair is not collapsed yet): the copy moves the three rows.
	if err := storage.InsertSessionRows(ctx, src, []mote.SessionRow{first, cancel, second}); err != nil {
		t.Fatal(err)
	}
	err = src.InsertSuppressed(ctx, []storage.SuppressedCount{{SiteID: "demo", Day: copyStart, Reason: mote.SuppressDNT, Count: 4}})
	if err != nil {
		t.Fatal(err)
	}
	err = src.InsertRowSQL(ctx, "INSERT INTO campaigns (site_id, campaign_id, name, created, window_end, sends, recipient_key, link_key, updated)",
		"demo", "spring", "Spring", copyStart, copyStart.AddDate(0, 0, 30), uint64(100), "6b6579", "6c696e6b", copyStart)
	if err != nil {
		t.Fatal(err)
	}
	return src, want
}

var copyStart = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// copyDest is a migrated, empty database on the test ClickHouse server.
func copyDest(t *testing.T) (*clickhouse.Engine, string) {
	t.Helper()
	ctx := context.Background()
	srv := testenv.ClickHouse(t)
	dsn := srv.DSN(srv.NewDatabase(t))
	dst, err := clickhouse.Open(ctx, clickhouse.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	if err := dst.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return dst, dsn
}

// TestStorageCopy moves an embedded data set into a real ClickHouse
// server: interrupted after two batches, then resumed by the command; the
// totals match, every event arrives byte for byte (every column), the
// sessions, suppressed and campaigns rows arrive column for column, and a
// further run copies nothing.
func TestStorageCopy(t *testing.T) {
	lib := testenv.ChDBLib(t)
	dataDir := filepath.Join(t.TempDir(), "chdb")
	ctx := context.Background()
	src, want := copySource(t, lib, dataDir)
	dst, dsn := copyDest(t)

	// An interruption after two batches.
	cctx, stop := context.WithCancel(ctx)
	_, err := storage.Copy(cctx, src, dst, func(p storage.CopyProgress) {
		if p.Table == "events" && p.Done == 2 {
			stop()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted copy: %v, want context.Canceled", err)
	}
	src.Close() // the command opens the data directory itself

	config := writeConfig(t, fmt.Sprintf("storage:\n  embedded:\n    data_dir: %q\n    lib: %q\n%s", dataDir, lib, minimalSites))
	var out, errs bytes.Buffer
	if code := storageMain(ctx, []string{"copy", "-config", config, "--to", dsn}, func(string) string { return "" }, &out, &errs); code != 0 {
		t.Fatalf("mote storage copy: exit %d\n%s", code, errs.String())
	}
	if got := out.String(); !strings.Contains(got, "copied 21 events (2 batches already there), 3 sessions rows") {
		t.Errorf("resumed copy said %q", got)
	}
	if !strings.Contains(errs.String(), "events") {
		t.Errorf("no progress bar on stderr: %q", errs.String())
	}
	// Every column of every event, strings that trip binary encodings
	// ("\n\n", NUL) included, arrives intact.
	for b, evs := range want {
		got := readAllColumns(t, dst, b)
		if len(got) != len(evs) {
			t.Fatalf("batch %d: %d events at the destination, want %d", b, len(got), len(evs))
		}
		for i, e := range evs { // enginetest.Event's visitor ids grow with i
			e.BatchID = b
			if len(e.PropKeys) == 0 {
				e.PropKeys, e.PropValues = nil, nil
			}
			if !reflect.DeepEqual(got[i], e) {
				t.Errorf("batch %d row %d:\n got %+v\nwant %+v", b, i, got[i], e)
			}
		}
	}
	// The other tables, column by column against the source.
	src, err = embedded.Open(ctx, embedded.Config{LibPath: lib, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, table := range []struct{ name, cols string }{
		{"sessions", storage.SessionColumns},
		{"suppressed", "site_id, day, reason, count"},
		{"campaigns", "site_id, campaign_id, name, created, window_end, sends, recipient_key, link_key, updated"},
	} {
		a, b := textRows(t, src, table.name, table.cols), textRows(t, dst, table.name, table.cols)
		if len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s:\n source      %q\n destination %q", table.name, a, b)
		}
	}

	out.Reset()
	if code := storageMain(ctx, []string{"copy", "-config", config, "--to", dsn, "--quiet"}, func(string) string { return "" }, &out, &errs); code != 0 {
		t.Fatalf("second copy: exit %d\n%s", code, errs.String())
	}
	if got := out.String(); !strings.Contains(got, "copied 0 events (5 batches already there), 0 sessions rows (1 days already there), 0 suppressed") {
		t.Errorf("repeated copy said %q", got)
	}
}

// TestStorageCopyRefuses: a batch only partly at the destination stops the
// copy with the batch named and nothing added to it; totals that differ
// after a copy (the destination held rows of its own) are an error naming
// the table.
func TestStorageCopyRefuses(t *testing.T) {
	lib := testenv.ChDBLib(t)
	ctx := context.Background()
	src, want := copySource(t, lib, filepath.Join(t.TempDir(), "chdb"))
	defer src.Close()

	t.Run("partial batch", func(t *testing.T) {
		dst, _ := copyDest(t)
		if err := dst.InsertEvents(ctx, 3, want[3][:2]); err != nil {
			t.Fatal(err)
		}
		_, err := storage.Copy(ctx, src, dst, nil)
		if err == nil || !strings.Contains(err.Error(), "batch 3 has 2 rows at the destination and 7 here") {
			t.Fatalf("copy over a partial batch: %v", err)
		}
		if n, err := dst.BatchRows(ctx, 3); err != nil || n != 2 {
			t.Fatalf("the partial batch holds %d rows after the refused copy (%v), want 2", n, err)
		}
	})
	t.Run("totals differ", func(t *testing.T) {
		dst, _ := copyDest(t)
		if err := dst.InsertEvents(ctx, 99, want[1][:1]); err != nil {
			t.Fatal(err)
		}
		_, err := storage.Copy(ctx, src, dst, nil)
		if err == nil || !strings.Contains(err.Error(), "verify events: source has 35/5, destination 36/6") {
			t.Fatalf("copy into a destination with an extra batch: %v", err)
		}
	})
	t.Run("suppressed differ", func(t *testing.T) {
		dst, _ := copyDest(t)
		err := dst.InsertSuppressed(ctx, []storage.SuppressedCount{{SiteID: "demo", Day: copyStart, Reason: mote.SuppressDNT, Count: 9}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = storage.Copy(ctx, src, dst, nil)
		if err == nil || !strings.Contains(err.Error(), "verify suppressed: source has 1/4, destination 1/9") {
			t.Fatalf("copy into a destination with more suppressed hits: %v", err)
		}
	})
}

// readAllColumns reads batch b's events from db, every column, ordered by
// visitor id.
func readAllColumns(t *testing.T, db storage.SQL, b uint64) []mote.Event {
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

// textRows reads cols of table from db as text, every column through
// toString (so both engines answer in one form), in a stable order.
func textRows(t *testing.T, db storage.SQL, table, cols string) [][]string {
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
