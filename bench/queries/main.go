// Command queries times the dashboard's main queries (stats.Aggregate,
// Timeseries, Breakdown, Realtime) over a large synthetic data set, on the
// embedded engine or on a ClickHouse server:
//
//	go run ./bench/queries -rows 10000000                       # chDB in ./bench/results/chdb
//	go run ./bench/queries -rows 10000000 -dsn clickhouse://127.0.0.1:9000/bench
//
// The data set is one site's 30 days: pageviews, custom events and
// engagement beacons from 300k visitors in 1.2M visits over 2,000 pages,
// with realistic skew in pages, sources, countries and browsers, and the
// sessions rows the collector would have written. It is loaded once and
// reused while its row count matches. Results are the best and the median
// of -runs runs of each query.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/bench/benchengine"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

func main() {
	rows := flag.Int("rows", 10_000_000, "events in the data set")
	var target benchengine.Flags
	target.Register("bench/results/chdb")
	flag.StringVar(&target.Database, "database", "mote", "embedded database (mote: what `mote serve` on -dir reads)")
	runs := flag.Int("runs", 5, "runs of each query")
	flag.Parse()
	ctx := context.Background()

	eng := target.Open(ctx)
	defer eng.Close()
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	if err := load(ctx, eng, *rows, end); err != nil {
		log.Fatal(err)
	}

	month := stats.Query{SiteID: "demo", From: end.AddDate(0, 0, -30), To: end, Interval: stats.IntervalDay}
	week := month
	week.From, week.Interval = end.AddDate(0, 0, -7), stats.IntervalHour
	filtered := month
	filtered.Filters = []stats.Filter{{Dimension: "country", Op: stats.FilterIs, Values: []string{"DE"}}}
	by := func(q stats.Query, dim string) stats.Query {
		q.Dimension = dim
		q.KAnonymity = mote.DefaultKAnonymity
		return q
	}
	queries := []struct {
		name string
		run  func() error
	}{
		{"aggregate 30d", func() error { _, err := stats.Aggregate(ctx, eng, month); return err }},
		{"aggregate 30d, country = DE", func() error { _, err := stats.Aggregate(ctx, eng, filtered); return err }},
		{"timeseries 30d by day", func() error { _, err := stats.Timeseries(ctx, eng, month); return err }},
		{"timeseries 7d by hour", func() error { _, err := stats.Timeseries(ctx, eng, week); return err }},
		{"breakdown page 30d", func() error { _, err := stats.Breakdown(ctx, eng, by(month, "page")); return err }},
		{"breakdown source 30d", func() error { _, err := stats.Breakdown(ctx, eng, by(month, "source")); return err }},
		{"breakdown entry_page 30d", func() error { _, err := stats.Breakdown(ctx, eng, by(month, "entry_page")); return err }},
		{"breakdown exit_page 30d", func() error { _, err := stats.Breakdown(ctx, eng, by(month, "exit_page")); return err }},
		{"breakdown country 30d", func() error { _, err := stats.Breakdown(ctx, eng, by(month, "country")); return err }},
		{"breakdown city 30d (k=5)", func() error { _, err := stats.Breakdown(ctx, eng, by(month, "city")); return err }},
		{"breakdown browser 30d", func() error { _, err := stats.Breakdown(ctx, eng, by(month, "browser")); return err }},
		{"breakdown event 30d", func() error { _, err := stats.Breakdown(ctx, eng, by(month, "event")); return err }},
		{"realtime", func() error { _, err := stats.Realtime(ctx, eng, "demo", end); return err }},
	}
	engineName := "embedded (chDB)"
	if target.DSN != "" {
		engineName = "clickhouse server"
	}
	fmt.Printf("%s, %d events\n\n| query | best ms | median ms |\n| --- | ---: | ---: |\n", engineName, *rows)
	for _, q := range queries {
		var ds []time.Duration
		for range *runs {
			start := time.Now()
			if err := q.run(); err != nil {
				log.Fatalf("%s: %v", q.name, err)
			}
			ds = append(ds, time.Since(start))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("| %s | %.0f | %.0f |\n", q.name, ms(ds[0]), ms(ds[len(ds)/2]))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// load fills the data set unless it already holds rows events.
func load(ctx context.Context, eng storage.Engine, rows int, end time.Time) error {
	var have uint64
	if err := storage.QueryRow(ctx, eng, "SELECT count() FROM events", &have); err != nil {
		return err
	}
	if have >= uint64(rows) && have < uint64(rows)+8 { // the last visit may overshoot
		return nil
	}
	if have != 0 {
		for _, t := range []string{"events", "sessions"} {
			if err := eng.ExecSQL(ctx, "TRUNCATE TABLE "+t); err != nil {
				return err
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	zipf := func(n uint64) func() uint64 { return rand.NewZipf(rng, 1.2, 1, n-1).Uint64 }
	page, src, country, browser, visitor := zipf(2000), zipf(uint64(len(sources))), zipf(uint64(len(countries))), zipf(uint64(len(browsers))), zipf(300_000)
	start := end.AddDate(0, 0, -30)
	const batch = 100_000
	var sessions []mote.SessionRow
	events := make([]mote.Event, 0, batch)
	began := time.Now()
	var batchID uint64
	for written := 0; written < rows; {
		// One visit: 1-6 pageviews, maybe an event, an engagement beacon.
		vid := visitor() + 1
		sid := rng.Uint64()
		ts := start.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		s, c, b := sources[src()], countries[country()], browsers[browser()]
		n := 1 + rng.IntN(6)
		row := mote.SessionRow{SiteID: "demo", SessionID: sid, VisitorID: vid, StartTS: ts, Hostname: "example.com",
			ReferrerHost: s[0], ReferrerSource: s[1], Channel: s[2], Country: c[0], Region: c[1], City: c[2],
			Browser: b, OS: "Linux", Device: "desktop", Screen: "laptop", Sign: 1, Version: 1}
		for i := range n + 1 {
			ev := mote.Event{SiteID: "demo", TS: ts.Add(time.Duration(i) * 40 * time.Second), Kind: mote.KindPageview,
				Hostname: "example.com", Pathname: "/p/" + strconv.FormatUint(page(), 10),
				ReferrerHost: s[0], ReferrerSource: s[1], Channel: s[2], Country: c[0], Region: c[1], City: c[2],
				Browser: b, BrowserVersion: "131", OS: "Linux", OSVersion: "6", Device: "desktop", Screen: "laptop",
				VisitorID: vid, SessionID: sid}
			switch {
			case i == n:
				ev.Kind, ev.EngagementMS, ev.ScrollDepth = mote.KindEngagement, uint32(rng.IntN(120_000)), uint8(rng.IntN(101))
			case i > 0 && rng.IntN(10) == 0:
				ev.Kind, ev.Name = mote.KindEvent, "Signup"
			}
			if i == 0 {
				row.EntryPage = ev.Pathname
			}
			if ev.Kind == mote.KindPageview {
				row.ExitPage = ev.Pathname
				row.Pageviews++
			}
			row.EndTS = ev.TS
			events = append(events, ev)
		}
		row.DurationS = uint32(row.EndTS.Sub(row.StartTS) / time.Second)
		if row.Pageviews == 1 {
			row.Bounce = 1
		}
		sessions = append(sessions, row)
		written += n + 1
		if len(events) >= batch || written >= rows {
			batchID++
			if err := eng.InsertEvents(ctx, batchID, events); err != nil {
				return err
			}
			if err := storage.InsertSessionRows(ctx, eng, sessions); err != nil {
				return err
			}
			sessions = sessions[:0]
			events = events[:0]
			fmt.Fprintf(os.Stderr, "\rloaded %d events (%.0f rows/s)", written, float64(written)/time.Since(began).Seconds())
		}
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

var (
	sources = [][3]string{{"", "", "direct"}, {"www.google.com", "Google", "search"}, {"news.ycombinator.com", "Hacker News", "social"},
		{"www.bing.com", "Bing", "search"}, {"chatgpt.com", "ChatGPT", "ai"}, {"t.co", "Twitter", "social"}, {"duckduckgo.com", "DuckDuckGo", "search"},
		{"www.reddit.com", "Reddit", "social"}, {"github.com", "github.com", "referral"}, {"mail.google.com", "Gmail", "email"}}
	countries = [][3]string{{"US", "US-CA", "San Francisco"}, {"DE", "DE-BE", "Berlin"}, {"GB", "GB-ENG", "London"}, {"FR", "FR-IDF", "Paris"},
		{"US", "US-NY", "New York"}, {"IN", "IN-KA", "Bengaluru"}, {"BR", "BR-SP", "São Paulo"}, {"JP", "JP-13", "Tokyo"},
		{"NL", "NL-NH", "Amsterdam"}, {"CA", "CA-ON", "Toronto"}, {"SE", "SE-AB", "Stockholm"}, {"PL", "PL-14", "Warsaw"}}
	browsers = []string{"Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Opera"}
)
