package storage_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	chengine "github.com/mote-analytics/mote/storage/clickhouse"
	"github.com/mote-analytics/mote/storage/embedded"
	"github.com/mote-analytics/mote/storage/enginetest"
)

// copySource is the copy fixture (enginetest.FillCopySource) in a chDB
// data directory: what `mote storage copy` moves in practice.
func copySource(t *testing.T) (*embedded.Engine, enginetest.CopyFixture) {
	t.Helper()
	ctx := context.Background()
	src, err := embedded.Open(ctx, embedded.Config{LibPath: testenv.ChDBLib(t), DataDir: filepath.Join(t.TempDir(), "chdb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	if err := src.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return src, enginetest.FillCopySource(t, src)
}

// copyDest is a migrated, empty database on the test ClickHouse server.
func copyDest(t *testing.T) *chengine.Engine {
	t.Helper()
	return newTestDB(t, testenv.ClickHouse(t)).eng.(*chengine.Engine)
}

// copyRun is one Copy with the progress it reported.
type copyRun struct {
	rep      storage.CopyReport
	progress []storage.CopyProgress
	err      error
}

func runCopy(ctx context.Context, src storage.CopySource, dst storage.CopyDest, stop func(storage.CopyProgress) bool, cancel func()) copyRun {
	var r copyRun
	r.rep, r.err = storage.Copy(ctx, src, dst, func(p storage.CopyProgress) {
		r.progress = append(r.progress, p)
		if stop != nil && stop(p) {
			cancel()
		}
	})
	return r
}

// TestCopy moves the fixture from chDB into a ClickHouse server,
// interrupted after two batches and run again: the second run skips what
// the first stored and copies the rest, with its progress and report
// saying so; every event arrives byte for byte (every column), the other
// tables row for row; a third run copies nothing new.
func TestCopy(t *testing.T) {
	src, fixture := copySource(t)
	dst := copyDest(t)
	ctx := context.Background()

	cctx, cancel := context.WithCancel(ctx)
	first := runCopy(cctx, src, dst, func(p storage.CopyProgress) bool { return p.Table == "events" && p.Done == 2 }, cancel)
	cancel()
	if !errors.Is(first.err, context.Canceled) {
		t.Fatalf("interrupted copy: %v, want context.Canceled", first.err)
	}
	if first.rep != (storage.CopyReport{Events: 14}) {
		t.Errorf("interrupted copy reported %+v, want 14 events", first.rep)
	}

	second := runCopy(ctx, src, dst, nil, nil)
	if second.err != nil {
		t.Fatal(second.err)
	}
	if want := (storage.CopyReport{Events: 21, Sessions: 3, Suppressed: 1, Campaigns: 1, EventBatchesSkipped: 2}); second.rep != want {
		t.Errorf("resumed copy reported %+v, want %+v", second.rep, want)
	}
	wantProgress := []storage.CopyProgress{
		{Table: "events", Done: 1, Total: 5, Skipped: 1},
		{Table: "events", Done: 2, Total: 5, Skipped: 2},
		{Table: "events", Done: 3, Total: 5, Skipped: 2, Rows: 7},
		{Table: "events", Done: 4, Total: 5, Skipped: 2, Rows: 14},
		{Table: "events", Done: 5, Total: 5, Skipped: 2, Rows: 21},
		{Table: "sessions", Done: 1, Total: 1, Rows: 3},
		{Table: "suppressed", Done: 1, Total: 1, Rows: 1},
		{Table: "campaigns", Done: 1, Total: 1, Rows: 1},
	}
	if !reflect.DeepEqual(second.progress, wantProgress) {
		t.Errorf("resumed copy's progress:\n got %+v\nwant %+v", second.progress, wantProgress)
	}
	enginetest.ExpectCopied(t, src, dst, fixture.Events)
	// Every copied day is marked changed, for the destination's
	// Summarizer to summarise.
	var unmarked uint64
	q := "SELECT count() FROM (SELECT DISTINCT site_id, toStartOfFifteenMinutes(ts) AS slot FROM events) " +
		"WHERE (site_id, slot) NOT IN (SELECT site_id, slot FROM daily_stats_slots WHERE n > 0 AND hits > 0)"
	if err := storage.QueryRow(ctx, dst, q, &unmarked); err != nil || unmarked != 0 {
		t.Errorf("%d slots of copied events not marked changed at the destination (%v)", unmarked, err)
	}

	third := runCopy(ctx, src, dst, nil, nil)
	if third.err != nil {
		t.Fatal(third.err)
	}
	// Campaign rows are inserted again: the table keeps each campaign's
	// latest version, so a repeat changes nothing.
	if want := (storage.CopyReport{Campaigns: 1, EventBatchesSkipped: 5, SessionDaysSkipped: 1}); third.rep != want {
		t.Errorf("repeated copy reported %+v, want %+v", third.rep, want)
	}
	if got := enginetest.TextRows(t, dst, "campaigns FINAL", enginetest.CopiedTables[2].Cols); len(got) != 1 {
		t.Errorf("campaigns after a repeated copy: %q", got)
	}
	if days := third.progress[len(third.progress)-3]; days != (storage.CopyProgress{Table: "sessions", Done: 1, Total: 1, Skipped: 1}) {
		t.Errorf("repeated copy's sessions progress %+v, want its day skipped", days)
	}
}

// TestCopySuppressedDifference: suppressed counters partly at the
// destination (an earlier copy, or hits counted there) get only the
// difference, so that the totals match.
func TestCopySuppressedDifference(t *testing.T) {
	src, _ := copySource(t)
	dst := copyDest(t)
	ctx := context.Background()
	if err := dst.InsertSuppressed(ctx, []storage.SuppressedCount{{SiteID: "demo", Day: enginetest.CopyStart, Reason: mote.SuppressDNT, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	rep, err := storage.Copy(ctx, src, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Suppressed != 1 {
		t.Errorf("copied %d suppressed rows, want the one difference", rep.Suppressed)
	}
	var total uint64
	if err := storage.QueryRow(ctx, dst, "SELECT sum(count) FROM suppressed", &total); err != nil || total != 4 {
		t.Errorf("%d suppressed hits at the destination (%v), want the source's 4", total, err)
	}
}

// TestCopyRefuses: work that is only partly at the destination stops the
// copy with the unit named and nothing added to it; totals that differ
// after a copy (the destination held rows of its own) are an error naming
// the table.
func TestCopyRefuses(t *testing.T) {
	src, fixture := copySource(t)
	want := fixture.Events
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		prepare func(dst *chengine.Engine) error
		err     string
		check   func(t *testing.T, dst *chengine.Engine)
	}{
		{"partial batch", func(dst *chengine.Engine) error { return dst.InsertEvents(ctx, 3, want[3][:2]) },
			"batch 3 has 2 rows at the destination and 7 here",
			func(t *testing.T, dst *chengine.Engine) {
				if n, err := dst.BatchRows(ctx, 3); err != nil || n != 2 {
					t.Errorf("the partial batch holds %d rows after the refused copy (%v), want 2", n, err)
				}
			}},
		{"events differ", func(dst *chengine.Engine) error { return dst.InsertEvents(ctx, 99, want[1][:1]) },
			"verify events: source has 35/5, destination 36/6", nil},
		{"partial day of visits", func(dst *chengine.Engine) error {
			return storage.InsertSessionRows(ctx, dst, fixture.Visit[:1])
		}, "copy sessions: 2026-03-01 has 1 rows at the destination and 3 here", nil},
		{"visits differ", func(dst *chengine.Engine) error {
			other := fixture.Visit[0]
			other.StartTS, other.EndTS = other.StartTS.AddDate(0, 0, 1), other.EndTS.AddDate(0, 0, 1)
			return storage.InsertSessionRows(ctx, dst, []mote.SessionRow{other})
		}, "verify sessions: source has 3/1, destination 4/2", nil},
		{"suppressed differ", func(dst *chengine.Engine) error {
			return dst.InsertSuppressed(ctx, []storage.SuppressedCount{{SiteID: "demo", Day: enginetest.CopyStart, Reason: mote.SuppressDNT, Count: 9}})
		}, "verify suppressed: source has 1/4, destination 1/9", nil},
		{"campaigns differ", func(dst *chengine.Engine) error {
			return dst.InsertRowSQL(ctx, "INSERT INTO campaigns (site_id, campaign_id, name, created, window_end, sends, recipient_key, link_key, updated)",
				"demo", "autumn", "Autumn", enginetest.CopyStart, enginetest.CopyStart.AddDate(0, 0, 30), uint64(5), "6b6579", "6c696e6b", enginetest.CopyStart)
		}, "verify campaigns: source has 1/", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := copyDest(t)
			if err := tc.prepare(dst); err != nil {
				t.Fatal(err)
			}
			_, err := storage.Copy(ctx, src, dst, nil)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("copy: %v, want an error with %q", err, tc.err)
			}
			if tc.check != nil {
				tc.check(t, dst)
			}
		})
	}
}
