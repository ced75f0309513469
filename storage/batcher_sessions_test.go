package storage_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/spool"
)

// visitRecords appends hits of visitors visits, each hit with the session
// rows a session cache would give it (the state, and from the second hit
// on the cancel of the previous state), and returns the final state of
// every visit. Half of the visits start in the last minutes of January
// and go on into February, so batches mix two partitions of both tables.
func visitRecords(t *testing.T, sp *spool.Spool, visitors, hits int) map[uint64]mote.SessionRow {
	t.Helper()
	final := make([]mote.SessionRow, visitors)
	errs := make(chan error, visitors)
	var wg sync.WaitGroup
	for v := range visitors { // a writer per visitor: its hits in order, group commits across visitors
		wg.Go(func() {
			start := time.Date(2026, 1, 31, 23, 55, 0, 0, time.UTC)
			if v%2 == 1 {
				start = time.Date(2026, 2, 1, 0, 1, 0, 0, time.UTC)
			}
			for k := range hits {
				ts := start.Add(time.Duration(k) * time.Minute)
				path := fmt.Sprintf("/v%d/h%d", v, k)
				ev := mote.Event{SiteID: "site", TS: ts, Kind: mote.KindPageview, Hostname: "example.com", Pathname: path,
					VisitorID: uint64(v + 1), SessionID: uint64(1000 + v)}
				state := mote.SessionRow{SiteID: "site", SessionID: ev.SessionID, VisitorID: ev.VisitorID, StartTS: start, EndTS: ts,
					Hostname: "example.com", EntryPage: fmt.Sprintf("/v%d/h0", v), ExitPage: path, Pageviews: uint32(k + 1),
					DurationS: uint32(k * 60), Channel: "search", Sign: 1, Version: uint32(k + 1)}
				if k == 0 {
					state.Bounce = 1
				}
				var err error
				if k > 0 {
					cancel := final[v]
					cancel.Sign = -1
					err = sp.Append(&ev, &cancel, &state)
				} else {
					err = sp.Append(&ev, &state)
				}
				if err != nil {
					errs <- err
					return
				}
				final[v] = state
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	out := map[uint64]mote.SessionRow{}
	for _, r := range final {
		out[r.SessionID] = r
	}
	return out
}

// expectVisits folds the sessions table by sign per (session, version), as
// the dashboards read it, and compares it with want: every version folds
// to 0 or 1 (a doubled or lost row shows as 2 or -1), each visit has one
// live version, its latest.
func expectVisits(t *testing.T, db storage.SQL, want map[uint64]mote.SessionRow) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := db.QuerySQL(ctx, "SELECT session_id, version, sum(sign) AS s, any(pageviews), any(exit_page) FROM sessions "+
		"GROUP BY session_id, version HAVING s != 0")
	if err != nil {
		t.Fatal(err)
	}
	live := map[uint64]mote.SessionRow{}
	for i := range rows.Values {
		var r mote.SessionRow
		var s int64
		if err := rows.Scan(i, &r.SessionID, &r.Version, &s, &r.Pageviews, &r.ExitPage); err != nil {
			t.Fatal(err)
		}
		if s != 1 {
			t.Errorf("session %d version %d folds to %d", r.SessionID, r.Version, s)
		}
		if _, dup := live[r.SessionID]; dup {
			t.Errorf("session %d has two live versions", r.SessionID)
		}
		live[r.SessionID] = r
	}
	if len(live) != len(want) {
		t.Errorf("%d live visits, want %d", len(live), len(want))
	}
	for id, w := range want {
		g := live[id]
		if g.Version != w.Version || g.Pageviews != w.Pageviews || g.ExitPage != w.ExitPage {
			t.Errorf("session %d: live version %d (%d pageviews, exit %q), want %d (%d, %q)",
				id, g.Version, g.Pageviews, g.ExitPage, w.Version, w.Pageviews, w.ExitPage)
		}
	}
}

// sessionFaults is the real engine with two faults: a lost reply after the
// 20th sessions insert, which was stored, and (crash set) a process dying
// after the sessions of a later batch were stored but before its events
// were. Both come after every visit has started, so the faulted batches
// hold cancels of states stored by earlier batches. After
// each it merges the sessions table, as ClickHouse does within seconds on
// its own, so that states stored with the faulted batch are folded with
// their cancels from the next ones before the Batcher looks for them.
type sessionFaults struct {
	storage.Engine
	crash        context.CancelFunc
	lostReply    atomic.Bool
	lostRows     atomic.Int64 // rows the insert with the lost reply stored
	crashed      atomic.Bool
	sessionCalls atomic.Int64
}

func (e *sessionFaults) InsertSessions(ctx context.Context, rows []mote.SessionRow) error {
	if err := storage.InsertSessionRows(ctx, e.Engine, rows); err != nil {
		return err
	}
	if e.sessionCalls.Add(1) == 20 && e.lostReply.CompareAndSwap(false, true) {
		e.lostRows.Store(int64(len(rows)))
		e.merge(ctx)
		return errors.New("connection reset (simulated, after the sessions insert was stored)")
	}
	return nil
}

func (e *sessionFaults) InsertEvents(ctx context.Context, id uint64, rows []mote.Event) error {
	if e.crash != nil && e.sessionCalls.Load() >= 40 && e.crashed.CompareAndSwap(false, true) {
		e.merge(ctx)
		e.crash()
		return errors.New("killed (simulated) between the sessions and the events insert")
	}
	return e.Engine.InsertEvents(ctx, id, rows)
}

// merge folds every state of the sessions table with its cancel.
func (e *sessionFaults) merge(ctx context.Context) {
	if err := e.Engine.ExecSQL(ctx, "OPTIMIZE TABLE sessions FINAL"); err != nil {
		panic(err)
	}
}

// TestBatcherSessionsExactlyOnce: session rows spooled with their hits
// reach the sessions table exactly once through a lost reply of a
// sessions insert and a crash between a batch's sessions and events
// inserts, replayed by a Batcher that cuts batches differently, with
// batches spanning two monthly partitions.
func TestBatcherSessionsExactlyOnce(t *testing.T) {
	for _, maxRows := range []int{70, 100, 1000} {
		t.Run(fmt.Sprintf("second batcher MaxRows=%d", maxRows), func(t *testing.T) {
			d := newTestDB(t, testenv.ClickHouse(t))
			dir := t.TempDir()
			sp := openSpool(t, dir)
			want := visitRecords(t, sp, 40, 12) // 480 hits, 920 session rows

			ctx, cancel := context.WithCancel(context.Background())
			eng := &sessionFaults{Engine: d.eng, crash: cancel}
			b := storage.NewBatcher(sp, eng, storage.BatcherConfig{MaxRows: 70, MinBackoff: time.Millisecond}, quietLogger())
			if err := b.Run(ctx); err != nil {
				t.Fatalf("run: %v", err)
			}
			if !eng.crashed.Load() {
				t.Fatal("the simulated crash did not happen")
			}
			first := b.Counters()
			if first.SessionSkips == 0 {
				t.Errorf("the lost sessions reply was not found stored on the retry: %+v", first)
			}
			sp.Close() // no Drain: the process died

			sp = openSpool(t, dir)
			defer sp.Close()
			b = storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxRows: maxRows}, quietLogger())
			dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
			defer dcancel()
			if err := b.Drain(dctx); err != nil {
				t.Fatal(err)
			}
			second := b.Counters()
			if second.SessionSkips == 0 {
				t.Errorf("the sessions stored before the crash were not found: %+v", second)
			}
			// Each of the 920 rows was inserted once: by the first
			// Batcher (counted, or stored with the lost reply) or by the
			// second (rows it found stored are skips, not stores).
			if stored := int64(first.SessionRows+second.SessionRows) + eng.lostRows.Load(); stored != 920 {
				t.Errorf("%d + %d sessions rows counted stored, %d stored with the lost reply: want 920 in all", first.SessionRows, second.SessionRows, eng.lostRows.Load())
			}
			var events uint64
			if err := storage.QueryRow(dctx, d.eng, "SELECT count() FROM events", &events); err != nil || events != 480 {
				t.Fatalf("%d events stored (%v), want 480", events, err)
			}
			expectVisits(t, d.eng, want)
		})
	}
}

// TestBatcherStoresVisits: without a fault, every visit's rows reach the
// sessions table once, and the Batcher logs nothing (its replay messages
// are for replays only).
func TestBatcherStoresVisits(t *testing.T) {
	d := newTestDB(t, testenv.ClickHouse(t))
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	want := visitRecords(t, sp, 4, 3)
	var logged levelCounter
	b := storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxWait: 10 * time.Millisecond}, slog.New(&logged))
	stop := runBatcher(b)
	waitStored(t, b, 12, 10*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	expectVisits(t, d.eng, want)
	if st := b.Counters(); st.SessionRows != 12+8 || st.SessionSkips != 0 {
		t.Errorf("counters %+v, want 20 sessions rows stored and none skipped", st)
	}
	if n := logged.records.Load(); n != 0 {
		t.Errorf("a run without a fault logged %d records", n)
	}
}

// crashBeforeEvents is the real engine, except that the first events
// insert does not happen: the process dies (its context is cancelled)
// after the batch's sessions rows were stored.
type crashBeforeEvents struct {
	storage.Engine
	crash context.CancelFunc
}

func (e crashBeforeEvents) InsertEvents(context.Context, uint64, []mote.Event) error {
	e.crash()
	return errors.New("killed (simulated) between the sessions and the events insert")
}

// TestBatcherSessionsPartlyStored: after a crash between a batch's
// sessions and events inserts, a Batcher cutting a longer batch at the
// same position passes over the sessions rows stored and inserts only the
// rest, and counts each once, as stored or as skipped.
func TestBatcherSessionsPartlyStored(t *testing.T) {
	d := newTestDB(t, testenv.ClickHouse(t))
	dir := t.TempDir()
	sp := openSpool(t, dir)
	start := time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)
	var prev mote.SessionRow
	for k := range 10 { // one visit of 10 pageviews: 10 states, 9 cancels
		ts := start.Add(time.Duration(k) * time.Minute)
		ev := mote.Event{SiteID: "site", TS: ts, Kind: mote.KindPageview, Hostname: "example.com", Pathname: fmt.Sprintf("/p%d", k), VisitorID: 1, SessionID: 7}
		state := mote.SessionRow{SiteID: "site", SessionID: 7, VisitorID: 1, StartTS: start, EndTS: ts, Hostname: "example.com",
			EntryPage: "/p0", ExitPage: ev.Pathname, Pageviews: uint32(k + 1), DurationS: uint32(60 * k), Sign: 1, Version: uint32(k + 1)}
		rows := []*mote.SessionRow{&state}
		if k > 0 {
			cancel := prev
			cancel.Sign = -1
			rows = []*mote.SessionRow{&cancel, &state}
		}
		if err := sp.Append(&ev, rows...); err != nil {
			t.Fatal(err)
		}
		prev = state
	}
	ctx, cancel := context.WithCancel(context.Background())
	first := storage.NewBatcher(sp, crashBeforeEvents{d.eng, cancel}, storage.BatcherConfig{MaxRows: 5, MaxWait: time.Millisecond}, quietLogger())
	if err := first.Run(ctx); err != nil {
		t.Fatal(err)
	}
	sp.Close()

	sp = openSpool(t, dir)
	defer sp.Close()
	second := storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxRows: 100}, quietLogger())
	dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
	defer dcancel()
	if err := second.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	// The crashed batch: 5 records, 9 rows. The longer one: 10 records,
	// 19 rows, of which those 9 were stored.
	if a, b := first.Counters(), second.Counters(); a.SessionRows != 9 || b.SessionSkips != 9 || b.SessionRows != 10 || b.RowsStored != 10 {
		t.Errorf("first Batcher %+v, second %+v: want 9 sessions rows stored, then 9 skipped, 10 stored and 10 events", a, b)
	}
	expectVisits(t, d.eng, map[uint64]mote.SessionRow{7: prev})
}

// TestSpoolSessions: a restarting collector reads the visit states still
// in its spool, from the checkpoint on: every state (+1) row in order,
// never a cancel, and the number of records read, those without session
// rows included.
func TestSpoolSessions(t *testing.T) {
	sp, err := spool.Open(spool.Config{Dir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	final := visitRecords(t, sp, 3, 4) // 12 records, each with a state, 9 with a cancel too
	if err := sp.Append(&mote.Event{SiteID: "site", TS: time.Date(2026, 2, 1, 0, 9, 0, 0, time.UTC), Kind: mote.KindEvent, Name: "signup",
		Hostname: "example.com", Pathname: "/", VisitorID: 1, SessionID: 1000}); err != nil {
		t.Fatal(err)
	}

	read := func() (int, []mote.SessionRow) {
		t.Helper()
		var got []mote.SessionRow
		n, err := storage.SpoolSessions(sp, func(r *mote.SessionRow) { got = append(got, *r) })
		if err != nil {
			t.Fatal(err)
		}
		return n, got
	}
	n, got := read()
	if n != 13 || len(got) != 12 {
		t.Fatalf("read %d records and %d states, want 13 and 12", n, len(got))
	}
	latest := map[uint64]mote.SessionRow{}
	for _, r := range got {
		if r.Sign != 1 {
			t.Fatalf("a row with sign %d: %+v", r.Sign, r)
		}
		if prev, ok := latest[r.SessionID]; ok && r.Version != prev.Version+1 {
			t.Fatalf("visit %d: version %d after %d", r.SessionID, r.Version, prev.Version)
		}
		latest[r.SessionID] = r
	}
	for id, want := range final {
		if latest[id] != want {
			t.Errorf("visit %d: latest state %+v, want %+v", id, latest[id], want)
		}
	}

	// Past a checkpoint, only the records after it.
	r, err := sp.NewReader(sp.Checkpoint())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.Commit(r.Pos()); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if n, got := read(); n != 8 || len(got) != 7 {
		t.Fatalf("after the checkpoint: %d records and %d states, want 8 and 7", n, len(got))
	}
}
