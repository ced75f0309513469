package stats_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage/embedded"
	"github.com/mote-analytics/mote/storage/stats"
)

// fuzzDB is one migrated chDB per process (chDB opens one data directory
// per process; each fuzz worker is a process of its own).
var fuzzDB struct {
	once sync.Once
	eng  *embedded.Engine
	dir  string
	err  error
	seq  uint64
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fuzzDB.eng != nil {
		fuzzDB.eng.Close()
		os.RemoveAll(fuzzDB.dir)
	}
	os.Exit(code)
}

func fuzzEngine(t *testing.T) *embedded.Engine {
	t.Helper()
	lib := testenv.ChDBLib(t)
	fuzzDB.once.Do(func() {
		if fuzzDB.dir, fuzzDB.err = os.MkdirTemp("", "mote-stats-fuzz-"); fuzzDB.err != nil {
			return
		}
		ctx := context.Background()
		if fuzzDB.eng, fuzzDB.err = embedded.Open(ctx, embedded.Config{LibPath: lib, DataDir: fuzzDB.dir}); fuzzDB.err != nil {
			return
		}
		fuzzDB.err = fuzzDB.eng.Migrate(ctx)
	})
	if fuzzDB.err != nil {
		t.Fatalf("chDB for the filter fuzz: %v", fuzzDB.err)
	}
	return fuzzDB.eng
}

// FuzzFilterSQL drives arbitrary strings through the filter-to-SQL path
// (every filter value becomes a quoted literal in the stats queries) and
// runs the queries on chDB. Each input gets a site of its own with two
// pageviews: one on the page named by the input, one on a neighbour
// (input + "x"). Then an "is" filter finds exactly the first, read back
// as sent; "is not" finds exactly the other; "contains" finds both. A value that escaped its quotes
// would fail to parse or change what the query counts.
func FuzzFilterSQL(f *testing.F) {
	for _, s := range []string{
		"/pricing", "", `\'`, "') OR 1=1 --", "/a\n\nb\x00", "\xff\xfe", "É✓%_", "{x:String}", "'))) UNION ALL SELECT 1 --",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		eng := fuzzEngine(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		fuzzDB.seq++
		site := fmt.Sprintf("fuzz%d_%d", os.Getpid(), fuzzDB.seq)
		ts := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		events := []mote.Event{
			{SiteID: site, TS: ts, Kind: mote.KindPageview, Hostname: "example.com", Pathname: s, VisitorID: 1, SessionID: 1},
			{SiteID: site, TS: ts, Kind: mote.KindPageview, Hostname: "example.com", Pathname: s + "x", VisitorID: 2, SessionID: 2},
		}
		if err := eng.InsertEvents(ctx, uint64(os.Getpid())<<32|fuzzDB.seq, events); err != nil {
			t.Fatal(err)
		}
		q := stats.Query{SiteID: site, From: ts.Add(-time.Hour), To: ts.Add(time.Hour), Dimension: "page", Limit: 10}
		filtered := func(op stats.FilterOp) stats.Query {
			fq := q
			fq.Filters = []stats.Filter{{Dimension: "page", Op: op, Values: []string{s}}}
			return fq
		}

		rows, err := stats.Breakdown(ctx, eng, filtered(stats.FilterIs))
		if err != nil {
			t.Fatalf("page is %q: %v", s, err)
		}
		if len(rows) != 1 || rows[0].Pageviews != 1 || rows[0].Visitors != 1 {
			t.Fatalf("page is %q: %+v, want the one page", s, rows)
		}
		// The row's value is the page as stored; compared where the engine's
		// text output can carry it (invalid UTF-8 is replaced there).
		if utf8.ValidString(s) && rows[0].Value != s {
			t.Fatalf("page is %q read back as %q", s, rows[0].Value)
		}
		for _, c := range []struct {
			op   stats.FilterOp
			want uint64
		}{{stats.FilterIsNot, 1}, {stats.FilterContains, 2}} {
			m, err := stats.Aggregate(ctx, eng, filtered(c.op))
			if err != nil {
				t.Fatalf("page %s %q: %v", c.op, s, err)
			}
			if m.Pageviews != c.want {
				t.Fatalf("page %s %q: %d pageviews, want %d", c.op, s, m.Pageviews, c.want)
			}
		}
	})
}
