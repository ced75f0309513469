package storage_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	chengine "github.com/mote-analytics/mote/storage/clickhouse"
	"github.com/mote-analytics/mote/storage/spool"
)

// The Batcher's tests run against a real ClickHouse server (Debian's
// clickhouse-server, started by internal/testenv) through the real
// storage/clickhouse engine. This TestMain serves the whole storage test
// binary, internal tests included.
func TestMain(m *testing.M) { testenv.Main(m) }

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testDB is one fresh database on a server, with the schema migrated.
type testDB struct {
	srv *testenv.Server
	db  string
	eng storage.Engine
}

func newTestDB(t testing.TB, srv *testenv.Server) *testDB {
	t.Helper()
	db := srv.NewDatabase(t)
	eng := openEngine(t, srv, db)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return &testDB{srv: srv, db: db, eng: eng}
}

func openEngine(t testing.TB, srv *testenv.Server, db string) storage.Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng, err := chengine.Open(ctx, chengine.Config{DSN: srv.DSN(db), DialTimeout: time.Second, ReadTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// counts returns the number of stored rows per pathname, and the number of
// distinct batch ids.
func (d *testDB) counts(t testing.TB) (map[string]uint64, uint64) {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: []string{d.srv.Addr()},
		Auth: clickhouse.Auth{Database: d.db, Username: "default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, "SELECT pathname, count() FROM events GROUP BY pathname")
	if err != nil {
		t.Fatalf("count rows: %v", err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var p string
		var n uint64
		if err := rows.Scan(&p, &n); err != nil {
			t.Fatal(err)
		}
		out[p] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var batches uint64
	if err := conn.QueryRow(ctx, "SELECT uniqExact(batch_id) FROM events").Scan(&batches); err != nil {
		t.Fatalf("count batches: %v", err)
	}
	return out, batches
}

// expectExactlyOnce fails unless every path in want is stored exactly once
// and nothing else is stored.
func (d *testDB) expectExactlyOnce(t testing.TB, want []string) {
	t.Helper()
	got, _ := d.counts(t)
	missing, dup := 0, 0
	for _, p := range want {
		switch got[p] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
		delete(got, p)
	}
	if missing != 0 || dup != 0 || len(got) != 0 {
		t.Fatalf("of %d appended events: %d missing, %d stored more than once, %d unexpected rows", len(want), missing, dup, len(got))
	}
}

func event(path string) mote.Event {
	return mote.Event{
		SiteID: "site", TS: time.Now().UTC(), Kind: mote.KindEvent, Name: "signup",
		Hostname: "example.com", Pathname: path, Country: "FR", Browser: "Firefox",
		VisitorID: 1, SessionID: 2, PropKeys: []string{"plan"}, PropValues: []string{"pro"},
	}
}

func openSpool(t testing.TB, dir string) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(spool.Config{Dir: dir, SegmentBytes: 256 << 10, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// appendPaths appends one event per path from `writers` goroutines.
func appendPaths(t testing.TB, sp *spool.Spool, paths []string, writers int) {
	t.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range writers {
		wg.Go(func() {
			e := event("")
			for {
				i := int(next.Add(1)) - 1
				if i >= len(paths) {
					return
				}
				e.Pathname = paths[i]
				if err := sp.Append(&e); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func paths(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("/%s/%d", prefix, i)
	}
	return out
}

// waitStored waits until the batcher has stored (or skipped) n rows.
func waitStored(t testing.TB, b *storage.Batcher, n uint64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := b.Counters()
		if st.RowsStored+st.RowsSkipped >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the batcher has stored %d of %d rows (stats %+v)", timeout, st.RowsStored, n, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFailed waits until the batcher has counted a failed insert or
// replay check, polling every millisecond so that the caller sees the
// first failure soon after it happened.
func waitFailed(t testing.TB, b *storage.Batcher, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for b.Counters().InsertErrors == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after %v nothing has failed (stats %+v)", timeout, b.Counters())
		}
		time.Sleep(time.Millisecond)
	}
}

func runBatcher(b *storage.Batcher) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	return func() error { cancel(); return <-done }
}

func TestBatcherStoresEverythingOnce(t *testing.T) {
	d := newTestDB(t, testenv.ClickHouse(t))
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	var logged levelCounter
	b := storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxRows: 700, MaxWait: 50 * time.Millisecond}, slog.New(&logged))
	stop := runBatcher(b)
	want := paths("all", 3000)
	appendPaths(t, sp, want, 16)
	waitStored(t, b, uint64(len(want)), 30*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	d.expectExactlyOnce(t, want)
	st := b.Counters()
	_, batches := d.counts(t)
	if st.RowsStored != 3000 || st.Batches != batches || st.LastBatchRows == 0 || st.InsertSeconds <= 0 {
		t.Fatalf("stats %+v, %d distinct batch ids stored", st, batches)
	}
	if sp.Checkpoint() != sp.End() {
		t.Fatalf("checkpoint %v behind the end %v after everything was stored", sp.Checkpoint(), sp.End())
	}
	if ps := sp.Counters().PendingBytes; ps != 0 {
		t.Fatalf("%d bytes still pending", ps)
	}
	if n := logged.records.Load(); n != 0 {
		t.Errorf("a run without a fault logged %d records", n)
	}
}

// levelCounter is a slog handler that counts the records at Info level
// and above, and drops every record.
type levelCounter struct{ records atomic.Int64 }

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		h.records.Add(1)
	}
	return nil
}
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *levelCounter) WithGroup(string) slog.Handler      { return h }

func TestBatcherMaxWaitCutsSmallBatches(t *testing.T) {
	d := newTestDB(t, testenv.ClickHouse(t))
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	b := storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxRows: 1 << 20, MaxWait: time.Second}, quietLogger())
	stop := runBatcher(b)
	defer stop()
	first := paths("first", 1)
	appendPaths(t, sp, first, 1)
	waitStored(t, b, 1, 10*time.Second)
	// Idle for longer than MaxWait: MaxWait counts from a batch's first
	// row, not from when the Batcher went idle.
	time.Sleep(1200 * time.Millisecond)
	small := paths("small", 3)
	t0 := time.Now()
	appendPaths(t, sp, small, 1)
	waitStored(t, b, 4, 10*time.Second)
	if took := time.Since(t0); took < time.Second {
		t.Errorf("a batch was cut %v after its first row, before MaxWait", took)
	}
	d.expectExactlyOnce(t, append(first, small...))
	// Appended one after the other, well within MaxWait of the first, the
	// three went in one batch: the first was not cut alone as it arrived.
	if n := b.Counters().Batches; n != 2 {
		t.Errorf("1 row, then after a pause 3 rows within MaxWait went in %d batches, want 2", n)
	}
}

// TestBatcherIdleUsesNoCPU: a Batcher with nothing to store waits on the
// spool; it does not spin. Over half a second of idling the process uses
// a small share of one core (spinning takes all of it).
func TestBatcherIdleUsesNoCPU(t *testing.T) {
	d := newTestDB(t, testenv.ClickHouse(t))
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	b := storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxWait: 10 * time.Millisecond}, quietLogger())
	stop := runBatcher(b)
	defer stop()
	appendPaths(t, sp, paths("one", 1), 1)
	waitStored(t, b, 1, 10*time.Second) // past the first batch, now idle
	before := cpuTime(t)
	const window = 500 * time.Millisecond
	time.Sleep(window) // a measuring window, not a synchronisation
	if used := cpuTime(t) - before; used > window/4 {
		t.Errorf("an idle Batcher used %v of CPU in %v", used, window)
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBatcherSurvivesOutage stops the server (SIGKILL) while hits keep
// arriving, then restarts it: every appended event is stored exactly once.
func TestBatcherSurvivesOutage(t *testing.T) {
	srv := testenv.StartClickHouse(t)
	d := newTestDB(t, srv)
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	b := storage.NewBatcher(sp, d.eng, storage.BatcherConfig{
		MaxRows: 200, MaxWait: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	}, quietLogger())
	stop := runBatcher(b)

	before, during, after := paths("before", 500), paths("during", 1500), paths("after", 500)
	appendPaths(t, sp, before, 4)
	waitStored(t, b, 500, 30*time.Second)

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	appendPaths(t, sp, during, 8)
	waitFailed(t, b, 10*time.Second) // the server is down
	if sp.Counters().PendingBytes == 0 {
		t.Fatal("the spool did not hold the hits during the outage")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	appendPaths(t, sp, after, 4)
	waitStored(t, b, 2500, 60*time.Second)
	outage := time.Since(down)
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	d.expectExactlyOnce(t, append(append(before, during...), after...))
	// Retries backed off: waits of 20, 40, 80, 160 ms and then 200 ms
	// each allow at most 5 failures plus one per 200 ms of the outage (a
	// retry without a wait fails every millisecond or so).
	st := b.Counters()
	if most := 6 + uint64(outage/(200*time.Millisecond)); st.InsertErrors > most {
		t.Errorf("%d failed inserts in an outage of %v: more than the backoff allows (%d)", st.InsertErrors, outage, most)
	}
	t.Logf("batcher stats after the outage of %v: %+v", outage, st)
}

// faulty is the real engine with one part failing: the replay check
// (BatchRows), reads of the sessions table (the sessions replay check) or
// event inserts.
type faulty struct {
	storage.Engine
	batchRows, sessionsRead, inserts bool
}

func (e faulty) BatchRows(ctx context.Context, id uint64) (uint64, error) {
	if e.batchRows {
		return 0, errors.New("replay check failed (simulated)")
	}
	return e.Engine.BatchRows(ctx, id)
}

func (e faulty) QuerySQL(ctx context.Context, q string) (*storage.Rows, error) {
	if e.sessionsRead && strings.Contains(q, "FROM sessions") {
		return nil, errors.New("sessions unreadable (simulated)")
	}
	return e.Engine.QuerySQL(ctx, q)
}

func (e faulty) InsertEvents(ctx context.Context, id uint64, rows []mote.Event) error {
	if e.inserts {
		return errors.New("insert refused (simulated)")
	}
	return e.Engine.InsertEvents(ctx, id, rows)
}

// TestBatcherRetriesBackOff: while a replay check, a sessions replay
// check or an insert keeps failing, the Batcher retries the same batch with a growing wait,
// stores nothing, and stops at once when its context ends.
func TestBatcherRetriesBackOff(t *testing.T) {
	srv := testenv.ClickHouse(t)
	for name, fault := range map[string]faulty{"replay check": {batchRows: true}, "sessions replay check": {sessionsRead: true}, "insert": {inserts: true}} {
		t.Run(name+" fails", func(t *testing.T) {
			fault.Engine = newTestDB(t, srv).eng
			sp := openSpool(t, t.TempDir())
			defer sp.Close()
			b := storage.NewBatcher(sp, fault, storage.BatcherConfig{MaxWait: time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, quietLogger())
			stop := runBatcher(b)
			appendPaths(t, sp, paths("p", 3), 1)
			waitFailed(t, b, 20*time.Second)
			// Waits of 10, 20, 40, 80, 160 ms, then 200 ms: after the
			// first failure, at most 5 more in the first 310 ms and one
			// per 200 ms after (a retry loop that starts its wait over
			// fails every 11 ms or so).
			first := time.Now()
			time.Sleep(time.Second) // a measuring window, not a synchronisation
			n, window := b.Counters().InsertErrors, time.Since(first)
			if most := 1 + 5 + 1 + uint64(window/(200*time.Millisecond)); n > most {
				t.Errorf("%d failures in %v: more than the backoff allows (%d)", n, window, most)
			}
			done := make(chan error, 1)
			go func() { done <- stop() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the Batcher did not stop within 10s of its context's end")
			}
			if st := b.Counters(); st.RowsStored != 0 || st.Batches != 0 {
				t.Errorf("stored despite the fault: %+v", st)
			}
		})
	}
}

// stopAfterInsert is the real engine, except that after its first
// successful insert it reports a failure (the reply was lost) and, if
// crash is set, cancels the Batcher's context as a process dying between
// insert and checkpoint would.
type stopAfterInsert struct {
	storage.Engine
	crash  context.CancelFunc
	failed atomic.Bool
}

func (e *stopAfterInsert) InsertEvents(ctx context.Context, id uint64, rows []mote.Event) error {
	if err := e.Engine.InsertEvents(ctx, id, rows); err != nil {
		return err
	}
	if e.failed.CompareAndSwap(false, true) {
		if e.crash != nil {
			e.crash()
		}
		return errors.New("connection reset (simulated, after the insert was stored)")
	}
	return nil
}

// TestBatcherUncertainInsert loses the reply of a stored insert: the
// Batcher must find the rows via BatchRows instead of inserting them twice.
func TestBatcherUncertainInsert(t *testing.T) {
	d := newTestDB(t, testenv.ClickHouse(t))
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	eng := &stopAfterInsert{Engine: d.eng}
	b := storage.NewBatcher(sp, eng, storage.BatcherConfig{MaxRows: 100, MinBackoff: time.Millisecond}, quietLogger())
	want := paths("uncertain", 250)
	appendPaths(t, sp, want, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	d.expectExactlyOnce(t, want)
	if st := b.Counters(); st.InsertErrors != 1 || st.RowsSkipped != 100 || st.RowsStored != 150 {
		t.Fatalf("stats %+v", st) // the insert whose reply was lost is not counted
	}
}

// TestBatcherReplayAfterCrash stores a batch and "crashes" before the
// checkpoint; the spool is reopened and drained by a new Batcher that cuts
// batches differently. Nothing is stored twice, nothing is lost.
func TestBatcherReplayAfterCrash(t *testing.T) {
	for _, maxRows := range []int{30, 100, 1000} {
		t.Run(fmt.Sprintf("second batcher MaxRows=%d", maxRows), func(t *testing.T) {
			d := newTestDB(t, testenv.ClickHouse(t))
			dir := t.TempDir()
			sp := openSpool(t, dir)
			want := paths("crash", 450)
			appendPaths(t, sp, want, 1)

			ctx, cancel := context.WithCancel(context.Background())
			eng := &stopAfterInsert{Engine: d.eng, crash: cancel}
			b := storage.NewBatcher(sp, eng, storage.BatcherConfig{MaxRows: 100}, quietLogger())
			if err := b.Run(ctx); err != nil {
				t.Fatalf("run: %v", err)
			}
			cp := sp.Checkpoint()
			sp.Close() // no Drain: the process died
			if got, _ := d.counts(t); len(got) != 100 {
				t.Fatalf("%d rows stored before the crash, want 100", len(got))
			}
			// Whether or not the crash came before the first batch's
			// days were marked changed, the replay marks them.
			if err := d.eng.ExecSQL(context.Background(), "TRUNCATE TABLE daily_stats_slots"); err != nil {
				t.Fatal(err)
			}

			sp = openSpool(t, dir)
			defer sp.Close()
			if sp.Checkpoint() != cp {
				t.Fatalf("checkpoint moved: %v, was %v", sp.Checkpoint(), cp)
			}
			b = storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxRows: maxRows}, quietLogger())
			dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer dcancel()
			if err := b.Drain(dctx); err != nil {
				t.Fatal(err)
			}
			d.expectExactlyOnce(t, want)
			if st := b.Counters(); st.RowsSkipped != 100 || st.RowsStored != 350 {
				t.Fatalf("stats %+v", st)
			}
			var marked uint64
			if err := storage.QueryRow(context.Background(), d.eng, "SELECT sum(n) FROM daily_stats_slots WHERE site_id = 'site'", &marked); err != nil || marked != 450 {
				t.Errorf("%d rows marked changed (%v), want the 100 the replay found stored and the 350 it stored", marked, err)
			}
			if sp.Checkpoint() != sp.End() {
				t.Fatalf("checkpoint %v, end %v", sp.Checkpoint(), sp.End())
			}
		})
	}
}

// TestBatcherDrainOnShutdown: rows held by Run (MaxWait not reached) and
// rows never read are all stored by Drain, as cmd does on SIGTERM.
func TestBatcherDrainOnShutdown(t *testing.T) {
	d := newTestDB(t, testenv.ClickHouse(t))
	sp := openSpool(t, t.TempDir())
	b := storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxRows: 400, MaxWait: time.Hour}, quietLogger())
	stop := runBatcher(b)
	first := paths("held", 1000)
	appendPaths(t, sp, first, 4)
	waitStored(t, b, 800, 30*time.Second) // two full batches; the rest is held
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	more := paths("late", 300)
	appendPaths(t, sp, more, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Drain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	d.expectExactlyOnce(t, append(first, more...))
}

// stopDuringInsert ends the Batcher's context as an insert starts, as a
// SIGTERM arriving mid-insert does.
type stopDuringInsert struct {
	storage.Engine
	stop context.CancelFunc
}

func (e *stopDuringInsert) InsertEvents(ctx context.Context, id uint64, rows []mote.Event) error {
	e.stop()
	return e.Engine.InsertEvents(ctx, id, rows)
}

// TestBatcherFinishesInsertOnStop: an insert under way when Run's context
// ends is completed, not abandoned. An abandoned insert may still be
// committed by the server after the next replay check has looked (the
// server engine on 18.16 has no dedup token to catch the second insert).
func TestBatcherFinishesInsertOnStop(t *testing.T) {
	d := newTestDB(t, testenv.ClickHouse(t))
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := storage.NewBatcher(sp, &stopDuringInsert{Engine: d.eng, stop: cancel}, storage.BatcherConfig{MaxRows: 100}, quietLogger())
	want := paths("stopped", 100)
	appendPaths(t, sp, want, 1)
	if err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if st := b.Counters(); st.RowsStored != 100 || st.InsertErrors != 0 {
		t.Fatalf("stats after a stop during the insert: %+v, want the 100 rows stored by that insert", st)
	}
	d.expectExactlyOnce(t, want)
}

func TestBatcherRunTwiceRefused(t *testing.T) {
	d := newTestDB(t, testenv.ClickHouse(t))
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	b := storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxWait: 10 * time.Millisecond}, quietLogger())
	stop := runBatcher(b)
	defer stop()
	// Run is running once it has stored a row.
	appendPaths(t, sp, paths("running", 1), 1)
	waitStored(t, b, 1, 30*time.Second)
	if err := b.Drain(context.Background()); err == nil {
		t.Fatal("Drain ran while Run was running")
	}
}

// BenchmarkSpoolToClickHouse measures the whole write path: 16 appenders
// into the spool, the Batcher inserting into a real server. It reports
// rows/s end to end (append of the first row to insert of the last).
func BenchmarkSpoolToClickHouse(b *testing.B) {
	d := newTestDB(b, testenv.ClickHouse(b))
	sp, err := spool.Open(spool.Config{Dir: b.TempDir(), MaxBytes: 1 << 34, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	bt := storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxWait: 100 * time.Millisecond}, quietLogger())
	stop := runBatcher(bt)
	defer stop()
	ps := paths("bench", b.N)
	b.ResetTimer()
	start := time.Now()
	appendPaths(b, sp, ps, 16)
	waitStored(b, bt, uint64(b.N), 5*time.Minute)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
}

// TestBatcherCutsAtMonthBoundary: events is partitioned by month and an
// insert spanning two partitions is not atomic, so no batch may span two
// months, or a crash could leave half a batch and the replay check would
// skip the wrong rows.
func TestBatcherCutsAtMonthBoundary(t *testing.T) {
	d := newTestDB(t, testenv.ClickHouse(t))
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	midnight := time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC)
	var want []string
	for i := 0; i < 6; i++ {
		e := mote.Event{SiteID: "s1", Kind: mote.KindPageview, Hostname: "example.com",
			Pathname: fmt.Sprintf("/month/%d", i), TS: midnight.Add(time.Duration(i-2) * time.Second)}
		if err := sp.Append(&e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e.Pathname)
	}
	b := storage.NewBatcher(sp, d.eng, storage.BatcherConfig{MaxRows: 100, MaxWait: 50 * time.Millisecond}, quietLogger())
	stop := runBatcher(b)
	waitStored(t, b, uint64(len(want)), 10*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	d.expectExactlyOnce(t, want)
	if _, batches := d.counts(t); batches != 2 {
		t.Fatalf("%d batches for rows on both sides of a month boundary, want 2 (one per month)", batches)
	}
}
