package enginetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// Inspector is what the suite needs beyond storage.Engine to look at what
// an engine stored. Engines implement it directly or through a small test
// adapter; open must return one.
type Inspector interface {
	storage.Engine
	storage.SuppressedWriter
	storage.SQL
	// ServerVersion is the ClickHouse version the engine's DDL targets.
	ServerVersion() storage.ServerVersion
	// ReadEvents returns the rows stored under batchID, in any order.
	ReadEvents(ctx context.Context, batchID uint64) ([]mote.Event, error)
	// QueryUint runs a query in the engine's database that returns one
	// unsigned number.
	QueryUint(ctx context.Context, query string) (uint64, error)
}

// Run runs the suite. open must return an engine on a database that exists
// (or that Migrate creates) and holds no tables, and must close it when the
// test ends.
func Run(t *testing.T, open func(t *testing.T) storage.Engine) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, e Inspector)
	}{
		{"MigrateTwice", testMigrateTwice},
		{"UpgradeMovesCounters", testUpgradeMovesCounters},
		{"RoundTrip", testRoundTrip},
		{"ReplayDedup", testReplayDedup},
		{"RejectsInvalidEvents", testRejectsInvalidEvents},
		{"ErrorsCarryMessage", testErrorsCarryMessage},
		{"Ping", testPing},
		{"SuppressedCountersSum", testSuppressedCountersSum},
		{"SQLValues", testSQLValues},
		{"SaltsAgreeOnEarliest", testSaltsAgreeOnEarliest},
		{"SaltsDeleteBefore", testSaltsDeleteBefore},
		{"StatsAggregate", testStatsAggregate},
		{"StatsTimeseries", testStatsTimeseries},
		{"StatsBreakdown", testStatsBreakdown},
		{"StatsVisitProperties", testStatsVisitProperties},
		{"StatsMidnightVisit", testStatsMidnightVisit},
		{"StatsRealtimeAndPrivacy", testStatsRealtimeAndPrivacy},
		{"StatsGoals", testStatsGoals},
		{"StatsSummaries", testStatsSummaries},
		{"StatsDayPrefix", testStatsDayPrefix},
		{"StatsSampling", testStatsSampling},
		{"StatsCountedDays", testStatsCountedDays},
		{"ShareLinks", testShareLinks},
		{"Sessions", testSessions},
		{"Retention", testRetention},
		{"CampaignsStore", testCampaignsStore},
		{"CampaignReport", testCampaignReport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := open(t).(Inspector)
			if !ok {
				t.Fatal("enginetest: open must return an engine implementing enginetest.Inspector")
			}
			tc.fn(t, e)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func migrate(t *testing.T, e Inspector) {
	t.Helper()
	if err := e.Migrate(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func queryUint(t *testing.T, e Inspector, q string) uint64 {
	t.Helper()
	n, err := e.QueryUint(ctx(t), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Tables is every table the migrations create.
var Tables = []string{"campaigns", "daily_stats", "daily_stats_done", "daily_stats_prefixes", "daily_stats_slots", "day_counts", "events", "salts", "schema_migrations", "sessions", "share_links", "suppressed"}

func testMigrateTwice(t *testing.T, e Inspector) {
	all, err := storage.Schema{Server: e.ServerVersion()}.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	tableList := "'" + strings.Join(Tables, "', '") + "'"
	for i := range 2 {
		migrate(t, e)
		if n := queryUint(t, e, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name IN ("+tableList+")"); n != uint64(len(Tables)) {
			t.Fatalf("after Migrate %d: %d of the %d tables", i+1, n, len(Tables))
		}
		if n := queryUint(t, e, "SELECT count() FROM system.tables WHERE database = currentDatabase()"); n != uint64(len(Tables)) {
			t.Fatalf("after Migrate %d: %d tables, want only the %d of Tables (a replaced table left behind?)", i+1, n, len(Tables))
		}
		if n := queryUint(t, e, "SELECT count() FROM schema_migrations"); n != uint64(len(all)) {
			t.Fatalf("after Migrate %d: schema_migrations has %d rows, want %d", i+1, n, len(all))
		}
	}
	// The events columns are the contract, in this order.
	n := queryUint(t, e, "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 'events'")
	if n != uint64(len(storage.EventColumns)) {
		t.Fatalf("events has %d columns, want %d", n, len(storage.EventColumns))
	}
}

// Event returns an event with every field set to a value that depends on
// i, including strings that have tripped binary encodings ("\n\n", NUL,
// tabs, quotes, backslashes, non-ASCII), so that a row mixed up with
// another or a byte lost on the way is noticed.
func Event(i int) mote.Event {
	s := func(name string) string { return fmt.Sprintf("%s-%d", name, i) }
	return mote.Event{
		SiteID:         s("site"),
		TS:             recent.Add(time.Duration(i%50) * time.Second),
		Kind:           mote.Kind(1 + i%5),
		Name:           s("signup ✓"),
		Hostname:       s("www.example.com"),
		Pathname:       s("/pricing/é\n\nnext"),
		ReferrerHost:   s("news.ycombinator.com"),
		ReferrerSource: s("Hacker News"),
		Channel:        s("social"),
		UTMSource:      s("news\x00letter"),
		UTMMedium:      s("email"),
		UTMCampaign:    s("launch\r\n\r\n"),
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
		PropValues:     props(i%4, s("pro"), "tab\tnew\n\nline", ""),
		CampaignID:     s("camp"),
		RecipientID:    0xaaaabbbbccccdddd + uint64(i),
		MachineOpen:    uint8(i % 2),
		MachineReason:  s("apple-mpp"),
		LinkURL:        s("https://example.com/x?y=1"),
	}
}

// recent is yesterday at 10:04:05 UTC: rows older than the retention TTL
// would be dropped by engines that have TTL, and a fixed date would one
// day be that old.
var recent = time.Now().UTC().Truncate(24 * time.Hour).Add(-14*time.Hour - 3*time.Minute - 55*time.Second)

func props(n int, all ...string) []string {
	if n == 0 {
		return nil
	}
	return all[:n]
}

// normalise makes an event comparable with one read back: empty props
// are nil, the time is UTC.
func normalise(ev mote.Event) mote.Event {
	if len(ev.PropKeys) == 0 {
		ev.PropKeys = nil
	}
	if len(ev.PropValues) == 0 {
		ev.PropValues = nil
	}
	ev.TS = ev.TS.UTC()
	return ev
}

func readSorted(t *testing.T, e Inspector, batchID uint64) []mote.Event {
	t.Helper()
	got, err := e.ReadEvents(ctx(t), batchID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i] = normalise(got[i])
	}
	slices.SortFunc(got, func(a, b mote.Event) int {
		switch {
		case a.VisitorID < b.VisitorID:
			return -1
		case a.VisitorID > b.VisitorID:
			return 1
		}
		return 0
	})
	return got
}

func testRoundTrip(t *testing.T, e Inspector) {
	migrate(t, e)
	var events []mote.Event
	for i := range 12 {
		events = append(events, Event(i))
	}
	// Extremes of every number and an event with every string empty (its
	// time stays recent: a row older than the retention TTL is dropped).
	edge := mote.Event{
		SiteID: "", TS: recent.Add(-time.Second), Kind: mote.KindEmailClick,
		VisitorID: 1<<64 - 1, SessionID: 0, EngagementMS: 1<<32 - 1, ScrollDepth: 255,
		RecipientID: 1<<64 - 1, MachineOpen: 255,
	}
	events = append(events, edge)
	const batchID = 7<<32 | 4096
	if err := e.InsertEvents(ctx(t), batchID, events); err != nil {
		t.Fatal(err)
	}
	more := []mote.Event{Event(100), Event(101)}
	if err := e.InsertEvents(ctx(t), batchID+1, more); err != nil {
		t.Fatal(err)
	}
	check := func(id uint64, in []mote.Event) {
		t.Helper()
		var want []mote.Event
		for _, ev := range in {
			ev.BatchID = id
			want = append(want, normalise(ev))
		}
		slices.SortFunc(want, func(a, b mote.Event) int {
			if a.VisitorID < b.VisitorID {
				return -1
			}
			return 1
		})
		got := readSorted(t, e, id)
		if len(got) != len(want) {
			t.Fatalf("batch %d: read %d rows, want %d", id, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("batch %d row %d\n got %#v\nwant %#v", id, i, got[i], want[i])
			}
		}
	}
	check(batchID, events)
	check(batchID+1, more)
	for id, want := range map[uint64]uint64{batchID: uint64(len(events)), batchID + 1: 2, batchID + 2: 0} {
		if n, err := e.BatchRows(ctx(t), id); err != nil || n != want {
			t.Errorf("BatchRows(%d) = %d, %v; want %d", id, n, err, want)
		}
	}
	if err := e.InsertEvents(ctx(t), 1, nil); err != nil {
		t.Errorf("empty insert: %v", err)
	}
	if n := queryUint(t, e, "SELECT count() FROM events"); n != uint64(len(events)+len(more)) {
		t.Errorf("%d rows in events, want %d", n, len(events)+len(more))
	}
}

// testReplayDedup: the Batcher's replay rule (ask BatchRows, insert only
// what is missing) stores a batch once on every engine; a blind replay is
// dropped by engines with the dedup token and stored twice by the others.
func testReplayDedup(t *testing.T, e Inspector) {
	migrate(t, e)
	events := []mote.Event{Event(1), Event(2), Event(3)}
	const id = 9
	for range 2 {
		n, err := e.BatchRows(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			if err := e.InsertEvents(ctx(t), id, events); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, _ := e.BatchRows(ctx(t), id); n != 3 {
		t.Fatalf("after a checked replay: %d rows, want 3", n)
	}
	if err := e.InsertEvents(ctx(t), id, events); err != nil {
		t.Fatal(err)
	}
	want := uint64(6)
	if e.ServerVersion().Features().Dedup {
		want = 3
	}
	if n, _ := e.BatchRows(ctx(t), id); n != want {
		t.Fatalf("after a blind replay on %v: %d rows, want %d", e.ServerVersion(), n, want)
	}
	// The same batch id with other rows (a reused position) is stored.
	if err := e.InsertEvents(ctx(t), id, events[:1]); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.BatchRows(ctx(t), id); n != want+1 {
		t.Fatalf("a different batch under a seen id: %d rows, want %d", n, want+1)
	}
}

func testRejectsInvalidEvents(t *testing.T, e Inspector) {
	migrate(t, e)
	bad := Event(1)
	bad.Kind = 0
	if err := e.InsertEvents(ctx(t), 1, []mote.Event{Event(0), bad}); err == nil || !strings.Contains(err.Error(), "invalid kind") {
		t.Errorf("invalid kind: err = %v", err)
	}
	bad = Event(1)
	bad.PropKeys, bad.PropValues = []string{"a", "b"}, []string{"a"}
	if err := e.InsertEvents(ctx(t), 2, []mote.Event{bad}); err == nil || !strings.Contains(err.Error(), "prop keys") {
		t.Errorf("props mismatch: err = %v", err)
	}
	if n := queryUint(t, e, "SELECT count() FROM events"); n != 0 {
		t.Errorf("%d rows stored from rejected batches", n)
	}
}

// testErrorsCarryMessage: on a database that was never migrated, errors
// name the operation and carry ClickHouse's own words about the table.
func testErrorsCarryMessage(t *testing.T, e Inspector) {
	_, err := e.BatchRows(ctx(t), 1)
	if err == nil || !strings.Contains(err.Error(), "count rows of batch 1") || !strings.Contains(err.Error(), "events") {
		t.Fatalf("BatchRows err = %v", err)
	}
	t.Logf("BatchRows: %v", err)
	err = e.InsertEvents(ctx(t), 3, []mote.Event{Event(0)})
	if err == nil || !strings.Contains(err.Error(), "insert batch 3") || !strings.Contains(err.Error(), "events") {
		t.Fatalf("InsertEvents err = %v", err)
	}
	t.Logf("InsertEvents: %v", err)
}

func testPing(t *testing.T, e Inspector) {
	if err := e.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// testSuppressedCountersSum: counters flushed in several inserts add up per
// (site, day, reason), and nothing else is stored with them.
func testSuppressedCountersSum(t *testing.T, e Inspector) {
	migrate(t, e)
	var s storage.Suppressions
	day1 := time.Now().UTC().Truncate(24 * time.Hour).Add(-time.Minute) // yesterday, 23:59
	day2 := day1.Add(2 * time.Minute)
	for i := 0; i < 3; i++ {
		s.Suppress("shop", mote.SuppressDNT, day1)
	}
	s.Suppress("shop", mote.SuppressDNT, day2)
	s.Suppress("o'hare", mote.SuppressBot, day2) // quoting must hold
	if err := s.Flush(ctx(t), e); err != nil {
		t.Fatal(err)
	}
	s.Suppress("shop", mote.SuppressDNT, day1)
	if err := s.Flush(ctx(t), e); err != nil {
		t.Fatal(err)
	}
	f := func(site string, day time.Time, reason string, want uint64) {
		t.Helper()
		q := fmt.Sprintf("SELECT sum(count) FROM suppressed WHERE site_id = '%s' AND day = toDate('%s') AND reason = '%s'",
			strings.ReplaceAll(site, "'", `\'`), day.Format("2006-01-02"), reason)
		if got := queryUint(t, e, q); got != want {
			t.Errorf("%s %s %s: %d, want %d", site, day.Format("2006-01-02"), reason, got, want)
		}
	}
	f("shop", day1, "dnt", 4)
	f("shop", day2, "dnt", 1)
	f("o'hare", day2, "bot", 1)
	if n := queryUint(t, e, "SELECT count() FROM suppressed WHERE reason NOT IN ('dnt', 'bot')"); n != 0 {
		t.Errorf("%d rows with other reasons", n)
	}
}
