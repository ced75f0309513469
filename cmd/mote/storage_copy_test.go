package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
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

// TestStorageCopy moves an embedded data set into a real ClickHouse
// server: interrupted after two batches, then resumed by the command; the
// totals match, every event arrives byte for byte, and a further run
// copies nothing.
func TestStorageCopy(t *testing.T) {
	lib := testenv.ChDBLib(t)
	dataDir := filepath.Join(t.TempDir(), "chdb")
	ctx := context.Background()

	// The source: five batches, a visit's three rows, counters, a campaign.
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
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	first := mote.SessionRow{SiteID: "demo", SessionID: 1, VisitorID: 2, StartTS: start, EndTS: start, EntryPage: "/a", ExitPage: "/a", Pageviews: 1, Bounce: 1, Sign: 1, Version: 1}
	cancel, second := first, first
	cancel.Sign = -1
	second.ExitPage, second.Pageviews, second.Bounce, second.Version, second.EndTS = "/b", 2, 0, 2, start.Add(time.Minute)
	// One block, inserted as the Batcher does (optimize_on_insert off, so
	// the pair is not collapsed yet): the copy moves the three rows.
	if err := storage.InsertSessionRows(ctx, src, []mote.SessionRow{first, cancel, second}); err != nil {
		t.Fatal(err)
	}
	err = src.InsertSuppressed(ctx, []storage.SuppressedCount{{SiteID: "demo", Day: start, Reason: mote.SuppressDNT, Count: 4}})
	if err != nil {
		t.Fatal(err)
	}
	err = src.InsertRowSQL(ctx, "INSERT INTO campaigns (site_id, campaign_id, name, created, window_end, sends, recipient_key, link_key, updated)",
		"demo", "spring", "Spring", start, start.AddDate(0, 0, 30), uint64(100), "6b6579", "6c696e6b", start)
	if err != nil {
		t.Fatal(err)
	}

	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	dst, err := clickhouse.Open(ctx, clickhouse.Config{DSN: srv.DSN(db)})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// An interruption after two batches.
	cctx, stop := context.WithCancel(ctx)
	_, err = storage.Copy(cctx, src, dst, func(p storage.CopyProgress) {
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
	if code := storageMain(ctx, []string{"copy", "-config", config, "--to", srv.DSN(db)}, func(string) string { return "" }, &out, &errs); code != 0 {
		t.Fatalf("mote storage copy: exit %d\n%s", code, errs.String())
	}
	if got := out.String(); !strings.Contains(got, "copied 21 events (2 batches already there), 3 sessions rows") {
		t.Errorf("resumed copy said %q", got)
	}
	if !strings.Contains(errs.String(), "events") {
		t.Errorf("no progress bar on stderr: %q", errs.String())
	}
	// Strings that trip binary encodings ("\n\n", NUL) arrive intact.
	for b, evs := range want {
		rows, err := dst.QuerySQL(ctx, fmt.Sprintf("SELECT visitor_id, pathname, utm_source, utm_campaign FROM events WHERE batch_id = %d ORDER BY visitor_id", b))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows.Values) != len(evs) {
			t.Fatalf("batch %d: %d events at the destination, want %d", b, len(rows.Values), len(evs))
		}
		for i, e := range evs { // enginetest.Event's visitor ids grow with i
			var vid uint64
			var path, utm, campaign string
			if err := rows.Scan(i, &vid, &path, &utm, &campaign); err != nil {
				t.Fatal(err)
			}
			if vid != e.VisitorID || path != e.Pathname || utm != e.UTMSource || campaign != e.UTMCampaign {
				t.Errorf("batch %d row %d: %x %q %q %q, want %x %q %q %q", b, i, vid, path, utm, campaign, e.VisitorID, e.Pathname, e.UTMSource, e.UTMCampaign)
			}
		}
	}
	var visits, pageviews, dnt int64
	if err := storage.QueryRow(ctx, dst, "SELECT sum(sign), sum(pageviews * sign), (SELECT sum(count) FROM suppressed) FROM sessions", &visits, &pageviews, &dnt); err != nil {
		t.Fatal(err)
	}
	if visits != 1 || pageviews != 2 || dnt != 4 {
		t.Errorf("destination: %d visits, %d pageviews, %d suppressed; want 1, 2, 4", visits, pageviews, dnt)
	}

	out.Reset()
	if code := storageMain(ctx, []string{"copy", "-config", config, "--to", srv.DSN(db), "--quiet"}, func(string) string { return "" }, &out, &errs); code != 0 {
		t.Fatalf("second copy: exit %d\n%s", code, errs.String())
	}
	if got := out.String(); !strings.Contains(got, "copied 0 events (5 batches already there), 0 sessions rows (1 days already there), 0 suppressed") {
		t.Errorf("repeated copy said %q", got)
	}
}
