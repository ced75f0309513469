package clickhouse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/enginetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newEngine opens an engine on a fresh database of srv (migrated unless
// told otherwise) and closes it when the test ends.
func newEngine(t testing.TB, srv *testenv.Server, migrate bool) *Engine {
	t.Helper()
	e := openEngine(t, srv, srv.NewDatabase(t))
	if migrate {
		if err := e.Migrate(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func openEngine(t testing.TB, srv *testenv.Server, db string) *Engine {
	t.Helper()
	e, err := Open(ctx(t), Config{DSN: srv.DSN(db)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// fullEvent returns an event with every field set to a value that depends
// on i, so that a row mixed up with another is noticed.
func fullEvent(i int) mote.Event {
	s := func(name string) string { return fmt.Sprintf("%s-%d", name, i) }
	return mote.Event{
		SiteID:         s("site"),
		TS:             time.Date(2026, 11, 3, 10, 4, 5+i%50, 0, time.UTC),
		Kind:           mote.Kind(1 + i%5),
		Name:           s("signup ✓"),
		Hostname:       s("www.example.com"),
		Pathname:       s("/pricing/é"),
		ReferrerHost:   s("news.ycombinator.com"),
		ReferrerSource: s("Hacker News"),
		Channel:        s("social"),
		UTMSource:      s("newsletter"),
		UTMMedium:      s("email"),
		UTMCampaign:    s("launch"),
		UTMTerm:        s("analytics"),
		UTMContent:     s("button"),
		Country:        "FR",
		Region:         "FR-IDF",
		City:           s("Paris"),
		Browser:        s("Firefox"),
		BrowserVersion: s("133"),
		OS:             s("Linux"),
		OSVersion:      s("6"),
		Device:         "desktop",
		Screen:         "laptop",
		VisitorID:      0xfedcba9876543210 + uint64(i),
		SessionID:      0x0123456789abcdef + uint64(i),
		EngagementMS:   4_000_000_000 + uint32(i),
		ScrollDepth:    uint8(i % 101),
		PropKeys:       props(i%4, s("plan"), "quote'\"\\", ""),
		PropValues:     props(i%4, s("pro"), "tab\tnew\nline", ""),
		CampaignID:     s("camp"),
		RecipientID:    0xaaaabbbbccccdddd + uint64(i),
		MachineOpen:    uint8(i % 2),
		MachineReason:  s("apple-mpp"),
		LinkURL:        s("https://example.com/x?y=1"),
	}
}

// props returns the first n of all, nil for none (0 to 3 props per event).
func props(n int, all ...string) []string {
	if n == 0 {
		return nil
	}
	return all[:n]
}

// readEvents reads every events row back into mote.Event, ordered by
// visitor_id (unique per fullEvent).
func readEvents(t testing.TB, e *Engine) []mote.Event {
	t.Helper()
	q := "SELECT " + strings.Join(quoted(storage.EventColumns), ", ") + " FROM events ORDER BY visitor_id"
	rows, err := e.conn.Query(ctx(t), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	kinds := map[string]mote.Kind{}
	for k := mote.Kind(1); k.Valid(); k++ {
		kinds[k.String()] = k
	}
	var out []mote.Event
	for rows.Next() {
		var ev mote.Event
		var kind string
		err := rows.Scan(&ev.SiteID, &ev.TS, &kind, &ev.Name,
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
		ev.Kind = kinds[kind]
		ev.TS = ev.TS.UTC()
		out = append(out, normalise(ev))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func normalise(ev mote.Event) mote.Event {
	if len(ev.PropKeys) == 0 {
		ev.PropKeys = nil
	}
	if len(ev.PropValues) == 0 {
		ev.PropValues = nil
	}
	return ev
}

func quoted(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = "`" + c + "`"
	}
	return out
}

func queryUint(t testing.TB, e *Engine, q string) uint64 {
	t.Helper()
	var n uint64
	if err := e.conn.QueryRow(ctx(t), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// wantTables is every table the migrations create.
var wantTables = enginetest.Tables

func tables(t testing.TB, e *Engine) []string {
	t.Helper()
	rows, err := e.conn.Query(ctx(t), "SELECT name FROM system.tables WHERE database = '"+e.db+"' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func TestMigrateCreatesDatabaseAndIsIdempotent(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := fmt.Sprintf("missing_%d_%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { _ = srv.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`") })
	e := openEngine(t, srv, db) // the database does not exist yet
	if err := e.Migrate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := tables(t, e); !slices.Equal(got, wantTables) {
		t.Fatalf("tables = %v, want %v", got, wantTables)
	}
	all, _ := e.schema.Migrations()
	if n := queryUint(t, e, "SELECT count() FROM schema_migrations"); n != uint64(len(all)) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(all))
	}
	if err := e.Migrate(ctx(t)); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if n := queryUint(t, e, "SELECT count() FROM schema_migrations"); n != uint64(len(all)) {
		t.Fatalf("second Migrate recorded again: %d rows, want %d", n, len(all))
	}
	t.Logf("server %v, %d migrations", e.ServerVersion(), len(all))
}

// TestMigrateConcurrent runs two processes' worth of Migrate on the same
// new database at once.
func TestMigrateConcurrent(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := fmt.Sprintf("race_%d_%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { _ = srv.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`") })
	engines := []*Engine{openEngine(t, srv, db), openEngine(t, srv, db), openEngine(t, srv, db)}
	var wg sync.WaitGroup
	errs := make([]error, len(engines))
	for i, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.Migrate(ctx(t))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d: %v", i, err)
		}
	}
	if got := tables(t, engines[0]); !slices.Equal(got, wantTables) {
		t.Fatalf("tables = %v, want %v", got, wantTables)
	}
	all, _ := engines[0].schema.Migrations()
	if n := queryUint(t, engines[0], "SELECT count(DISTINCT version) FROM schema_migrations"); n != uint64(len(all)) {
		t.Fatalf("%d distinct versions recorded, want %d", n, len(all))
	}
}

// TestEventsColumns compares the real table with storage.EventColumns and
// the version gates.
func TestEventsColumns(t *testing.T) {
	e := newEngine(t, testenv.ClickHouse(t), true)
	rows, err := e.conn.Query(ctx(t), "SELECT name, type FROM system.columns WHERE database = '"+e.db+"' AND table = 'events'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	types := map[string]string{}
	for rows.Next() {
		var n, typ string
		if err := rows.Scan(&n, &typ); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
		types[n] = typ
	}
	if !slices.Equal(names, storage.EventColumns) {
		t.Fatalf("events columns\n %v\nwant\n %v", names, storage.EventColumns)
	}
	wantSite := "String"
	if e.features.LowCardinality {
		wantSite = "LowCardinality(String)"
	}
	for col, want := range map[string]string{
		"site_id": wantSite, "ts": "DateTime('UTC')", "props.key": "Array(String)", "batch_id": "UInt64",
		"kind": "Enum8('pageview' = 1, 'event' = 2, 'engagement' = 3, 'email_open' = 4, 'email_click' = 5)",
	} {
		if types[col] != want {
			t.Errorf("events.%s is %s, want %s", col, types[col], want)
		}
	}
}

func TestInsertRoundTrip(t *testing.T) {
	e := newEngine(t, testenv.ClickHouse(t), true)
	var events []mote.Event
	for i := range 12 {
		events = append(events, fullEvent(i))
	}
	const batchID = 7<<32 | 4096
	if err := e.InsertEvents(ctx(t), batchID, events); err != nil {
		t.Fatal(err)
	}
	// A second batch through the same (reused) buffers.
	more := []mote.Event{fullEvent(100), fullEvent(101)}
	if err := e.InsertEvents(ctx(t), batchID+1, more); err != nil {
		t.Fatal(err)
	}
	got := readEvents(t, e)
	var want []mote.Event
	for _, ev := range events {
		ev.BatchID = batchID
		want = append(want, normalise(ev))
	}
	for _, ev := range more {
		ev.BatchID = batchID + 1
		want = append(want, normalise(ev))
	}
	if len(got) != len(want) {
		t.Fatalf("read %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("row %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	f := func(id, want uint64) {
		t.Helper()
		n, err := e.BatchRows(ctx(t), id)
		if err != nil || n != want {
			t.Errorf("BatchRows(%d) = %d, %v; want %d", id, n, err, want)
		}
	}
	f(batchID, 12)
	f(batchID+1, 2)
	f(batchID+2, 0)
	if err := e.InsertEvents(ctx(t), 1, nil); err != nil {
		t.Errorf("empty insert: %v", err)
	}
}

func TestInsertRejectsInvalidEvents(t *testing.T) {
	e := newEngine(t, testenv.ClickHouse(t), true)
	bad := fullEvent(1)
	bad.Kind = 0
	if err := e.InsertEvents(ctx(t), 1, []mote.Event{fullEvent(0), bad}); err == nil || !strings.Contains(err.Error(), "invalid kind") {
		t.Errorf("invalid kind: err = %v", err)
	}
	bad = fullEvent(1)
	bad.PropKeys = []string{"a", "b"}
	bad.PropValues = []string{"a"}
	if err := e.InsertEvents(ctx(t), 2, []mote.Event{bad}); err == nil || !strings.Contains(err.Error(), "prop keys") {
		t.Errorf("props mismatch: err = %v", err)
	}
	if n := queryUint(t, e, "SELECT count() FROM events"); n != 0 {
		t.Errorf("%d rows stored from rejected batches", n)
	}
}

// TestErrorsCarryServerMessage: an engine on a database that was never
// migrated reports the server's own words.
func TestErrorsCarryServerMessage(t *testing.T) {
	e := newEngine(t, testenv.ClickHouse(t), false)
	_, err := e.BatchRows(ctx(t), 1)
	if err == nil || !strings.Contains(err.Error(), "events") || !strings.Contains(err.Error(), "count rows of batch 1") {
		t.Fatalf("err = %v", err)
	}
	t.Logf("error: %v", err)
	err = e.InsertEvents(ctx(t), 3, []mote.Event{fullEvent(0)})
	if err == nil || !strings.Contains(err.Error(), "insert batch 3") || !hasCode(err, storage.CodeUnknownTable) {
		t.Fatalf("insert err = %v", err)
	}
}

// TestReplayAfterUncertainInsert kills the server while a large batch is
// being inserted, so that the client cannot know whether it was stored. The
// block must be stored entirely or not at all, BatchRows must tell which,
// and the replay decided from it must leave exactly one copy.
func TestReplayAfterUncertainInsert(t *testing.T) {
	srv := testenv.StartClickHouse(t)
	e := newEngine(t, srv, true)
	const n = 50_000
	events := make([]mote.Event, n)
	for i := range events {
		events[i] = fullEvent(i)
		events[i].TS = time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second) // one month: one part
	}
	const batchID = 42
	done := make(chan error, 1)
	go func() { done <- e.InsertEvents(context.Background(), batchID, events) }()
	// Kill the server once it is receiving the insert (or, should the
	// insert be quick, once it has finished).
	start := time.Now()
	for inFlight := uint64(0); inFlight == 0 && len(done) == 0; {
		if time.Since(start) > 30*time.Second {
			t.Fatal("the insert never showed up in system.processes")
		}
		time.Sleep(2 * time.Millisecond)
		inFlight = queryUint(t, e, "SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO events%'")
	}
	// A random extra delay lands the kill anywhere from "still sending" to
	// "server writing the part" or "already stored, reply not yet read".
	delay := time.Duration(rand.Int64N(int64(400 * time.Millisecond)))
	time.Sleep(delay)
	t.Logf("insert in flight after %v; killing %v later", time.Since(start)-delay, delay)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	insertErr := <-done
	t0 := time.Now()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart took %v", time.Since(t0))
	var stored uint64
	var err error
	for range 50 { // the pool may hand out a connection broken by the restart first
		if stored, err = e.BatchRows(ctx(t), batchID); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("insert during kill: err=%v; stored after restart: %d of %d", insertErr, stored, n)
	switch stored {
	case n: // stored before the kill: the replay is skipped
	case 0:
		if err := e.InsertEvents(ctx(t), batchID, events); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("partial block stored: %d of %d rows", stored, n)
	}
	if got := queryUint(t, e, "SELECT count() FROM events"); got != n {
		t.Fatalf("%d rows after replay, want exactly %d", got, n)
	}
	if insertErr == nil && stored != n {
		t.Fatal("insert reported success but the rows are not stored")
	}
}

// TestDedupToken: on servers with the token, a blind replay of a batch is
// dropped by the server; on older ones it is stored twice, which is why
// the Batcher asks BatchRows first.
func TestDedupToken(t *testing.T) {
	e := newEngine(t, testenv.ClickHouse(t), true)
	events := []mote.Event{fullEvent(1), fullEvent(2)}
	for range 2 {
		if err := e.InsertEvents(ctx(t), 9, events); err != nil {
			t.Fatal(err)
		}
	}
	want := uint64(4)
	if e.features.Dedup {
		want = 2
	}
	if n, _ := e.BatchRows(ctx(t), 9); n != want {
		t.Fatalf("after a blind replay on %v: %d rows, want %d", e.ServerVersion(), n, want)
	}
	if storage.DedupToken(9, 2) == storage.DedupToken(9, 3) || storage.DedupToken(9, 2) == storage.DedupToken(10, 2) {
		t.Fatal("DedupToken collides")
	}
}

func TestPingStopStart(t *testing.T) {
	srv := testenv.StartClickHouse(t)
	e := newEngine(t, srv, true)
	if err := e.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Ping(c); err == nil {
		t.Fatal("Ping succeeded while the server was stopped")
	} else {
		t.Logf("ping while stopped: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := e.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping after Start: %v", err)
	}
	if err := e.InsertEvents(ctx(t), 5, []mote.Event{fullEvent(5)}); err != nil {
		t.Fatalf("insert after Start: %v", err)
	}
}

func TestConfigOptions(t *testing.T) {
	opt, db, err := Config{}.options()
	if err != nil {
		t.Fatal(err)
	}
	if db != "mote" || opt.Addr[0] != "127.0.0.1:9000" || opt.Auth.Username != "default" || opt.DialTimeout != 5*time.Second || opt.MaxOpenConns != 4 {
		t.Errorf("defaults: db=%s %+v", db, opt)
	}
	opt, db, err = Config{DSN: "clickhouse://u:pw@10.0.0.1:9440/analytics?dial_timeout=2s", MaxOpenConns: 9}.options()
	if err != nil {
		t.Fatal(err)
	}
	if db != "analytics" || opt.Auth.Database != "" || opt.Auth.Password != "pw" || opt.DialTimeout != 2*time.Second || opt.MaxOpenConns != 9 {
		t.Errorf("dsn: db=%s %+v", db, opt)
	}
	_, _, err = Config{DSN: "clickhouse://u:s3cret@host:port:x/db"}.options()
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad dsn error = %v (must exist and not show the password)", err)
	}
	if _, err := Open(context.Background(), Config{Database: "bad-name; DROP"}); err == nil {
		t.Error("Open accepted an invalid database name")
	}
}

func BenchmarkInsertEvents(b *testing.B) {
	srv := testenv.ClickHouse(b)
	for _, size := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("rows=%d", size), func(b *testing.B) {
			e := newEngine(b, srv, true)
			events := make([]mote.Event, size)
			for i := range events {
				events[i] = fullEvent(i)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := e.InsertEvents(context.Background(), uint64(i+1), events); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
