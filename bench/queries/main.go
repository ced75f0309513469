// Command queries times the dashboard's main queries (stats.Aggregate,
// Timeseries, Breakdown, Realtime) over a large synthetic data set, on the
// embedded engine or on a ClickHouse server:
//
//	go run ./bench/queries -rows 10000000                       # chDB in ./bench/results/chdb
//	go run ./bench/queries -rows 10000000 -dsn clickhouse://127.0.0.1:9000/bench
//
// The data set is one site's 30 days: pageviews, custom events and
// engagement beacons of 4.5 hits a visit on average (1.2M visits at 10M
// hits), 1.3 visits a visitor a day, over 2,000 pages, with realistic
// skew in pages, sources, countries and browsers, and the sessions rows
// the collector would have written. Visitor ids are what the collector
// makes them: a keyed hash, uniform over 64 bits, new every day. It is
// loaded once and reused while its row count matches. The days are then
// summarised as `mote serve` would at the period's end: the last day is
// "today", not summarised whole, its pages up to 23:45 (its prefix): the
// costliest moment of a live day for the page card (a quarter-hour of
// hits, looked up in the whole day's). Each query is timed exactly from the
// raw rows alone (stats.Query NoSummaries and Exact) and as the dashboard
// asks it (summaries; a filtered card over more than
// stats.DefaultSampleAbove rows is sampled), alternating: the medians of
// -runs runs of each. Last, the sampled filtered aggregates are set
// beside the exact ones.
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
	"strings"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/bench/benchengine"
	"github.com/mote-analytics/mote/internal/splitmix"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

func main() {
	rows := flag.Int("rows", 10_000_000, "events in the data set")
	var target benchengine.Flags
	target.Register("bench/results/chdb")
	flag.StringVar(&target.Database, "database", "mote", "embedded database (mote: what `mote serve` on -dir reads)")
	runs := flag.Int("runs", 5, "runs of each query")
	only := flag.String("only", "", "time only the queries whose name contains this")
	exact := flag.Bool("exact", true, "time the exact reads from the raw rows too (at 100M events they take most of a run)")
	sampleAbove := flag.Uint64("sample-above", 0, "stored rows above which a filtered card is sampled (0: stats.DefaultSampleAbove)")
	flag.Parse()
	ctx := context.Background()

	eng := target.Open(ctx)
	defer eng.Close()
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	if err := load(ctx, eng, *rows, end); err != nil {
		log.Fatal(err)
	}
	// The summaries of every day but the last (which stays "today": its
	// end is not an hour past at end).
	summaries := &stats.Summarizer{DB: eng, Sites: []mote.Site{{ID: "demo"}}, Now: func() time.Time { return end }}
	began := time.Now()
	if n, err := summaries.Pass(ctx); err != nil {
		log.Fatal(err)
	} else if n > 0 {
		fmt.Fprintf(os.Stderr, "summarised %d days in %.1f s\n", n, time.Since(began).Seconds())
	}

	// The last day's counts, as serve's Batcher keeps them while it
	// stores a day (storage.DayCounter), computed from its stored rows:
	// the data set is loaded without the Batcher.
	var counted uint64
	if err := storage.QueryRow(ctx, eng, "SELECT count() FROM day_counts WHERE site_id = 'demo'", &counted); err != nil {
		log.Fatal(err)
	}
	if counted == 0 {
		if err := stats.CountDay(ctx, eng, "demo", "UTC", end.AddDate(0, 0, -1)); err != nil {
			log.Fatal(err)
		}
	}

	month := stats.Query{SiteID: "demo", From: end.AddDate(0, 0, -30), To: end, Interval: stats.IntervalDay, SampleAbove: *sampleAbove}
	week := month
	week.From, week.Interval = end.AddDate(0, 0, -7), stats.IntervalHour
	filtered := month
	filtered.Filters = []stats.Filter{{Dimension: "country", Op: stats.FilterIs, Values: []string{"DE"}}}
	filtered2 := month
	filtered2.Filters = []stats.Filter{{Dimension: "country", Op: stats.FilterIs, Values: []string{"DE"}}, {Dimension: "source", Op: stats.FilterIs, Values: []string{"Google"}}}
	by := func(q stats.Query, dim string) stats.Query {
		q.Dimension = dim
		q.KAnonymity = mote.DefaultKAnonymity
		return q
	}
	aggregate := func(q stats.Query) func(stats.Query) error {
		return func(o stats.Query) error {
			q.NoSummaries, q.Exact = o.NoSummaries, o.Exact
			_, err := stats.Aggregate(ctx, eng, q)
			return err
		}
	}
	series := func(q stats.Query) func(stats.Query) error {
		return func(o stats.Query) error {
			q.NoSummaries, q.Exact = o.NoSummaries, o.Exact
			_, err := stats.Timeseries(ctx, eng, q)
			return err
		}
	}
	breakdown := func(q stats.Query, dim string) func(stats.Query) error {
		q = by(q, dim)
		return func(o stats.Query) error {
			q.NoSummaries, q.Exact = o.NoSummaries, o.Exact
			_, err := stats.Breakdown(ctx, eng, q)
			return err
		}
	}
	queries := []struct {
		name string
		run  func(stats.Query) error
	}{
		{"aggregate 30d", aggregate(month)},
		{"aggregate 30d, country = DE", aggregate(filtered)},
		{"aggregate 30d, country = DE, source = Google", aggregate(filtered2)},
		{"timeseries 30d by day", series(month)},
		{"timeseries 30d by day, country = DE", series(filtered)},
		{"timeseries 7d by hour", series(week)},
		{"breakdown page 30d", breakdown(month, "page")},
		{"breakdown page 30d, country = DE", breakdown(filtered, "page")},
		{"breakdown page 30d, country = DE, source = Google", breakdown(filtered2, "page")},
		{"breakdown entry_page 30d", breakdown(month, "entry_page")},
		{"breakdown exit_page 30d", breakdown(month, "exit_page")},
		{"breakdown source 30d", breakdown(month, "source")},
		{"breakdown source 30d, country = DE", breakdown(filtered, "source")},
		{"breakdown channel 30d", breakdown(month, "channel")},
		{"breakdown utm_source 30d", breakdown(month, "utm_source")},
		{"breakdown country 30d", breakdown(month, "country")},
		{"breakdown region 30d (k=5)", breakdown(month, "region")},
		{"breakdown city 30d (k=5)", breakdown(month, "city")},
		{"breakdown browser 30d", breakdown(month, "browser")},
		{"breakdown os 30d", breakdown(month, "os")},
		{"breakdown device 30d", breakdown(month, "device")},
		{"breakdown event 30d", breakdown(month, "event")},
		{"breakdown prop:plan 30d", breakdown(month, "prop:plan")},
		{"realtime", func(stats.Query) error { _, err := stats.Realtime(ctx, eng, "demo", end); return err }},
	}
	engineName := "embedded (chDB)"
	if target.DSN != "" {
		engineName = "clickhouse server"
	}
	fmt.Printf("%s, %d events\n\n| query | exact from raw rows, median ms | as served (summaries; filtered: sampled), median ms |\n| --- | ---: | ---: |\n", engineName, *rows)
	for _, q := range queries {
		if !strings.Contains(q.name, *only) {
			continue
		}
		var raw, sum []time.Duration
		for range *runs {
			for _, noSummaries := range []bool{true, false} {
				if noSummaries && !*exact {
					continue
				}
				start := time.Now()
				if err := q.run(stats.Query{NoSummaries: noSummaries, Exact: noSummaries}); err != nil {
					log.Fatalf("%s: %v", q.name, err)
				}
				if noSummaries {
					raw = append(raw, time.Since(start))
				} else {
					sum = append(sum, time.Since(start))
				}
			}
		}
		rawCell := "–"
		if *exact {
			rawCell = fmt.Sprintf("%.0f", median(raw))
		}
		fmt.Printf("| %s | %s | %.0f |\n", q.name, rawCell, median(sum))
	}
	if !*exact {
		return
	}
	// What the sample costs in accuracy.
	fmt.Printf("\n| filtered aggregate | sample | visitors: exact / estimated | visits | pageviews |\n| --- | ---: | --- | --- | --- |\n")
	for _, q := range []stats.Query{filtered, filtered2} {
		exact := q
		exact.Exact = true
		e, err := stats.Aggregate(ctx, eng, exact)
		if err != nil {
			log.Fatal(err)
		}
		s, err := stats.Aggregate(ctx, eng, q)
		if err != nil {
			log.Fatal(err)
		}
		cell := func(exact, est uint64) string {
			return fmt.Sprintf("%d / %d (%+.2f %%)", exact, est, 100*(float64(est)-float64(exact))/float64(max(exact, 1)))
		}
		fmt.Printf("| %v | 1 in %d | %s | %s | %s |\n", q.Filters, s.SampleOneIn, cell(e.Visitors, s.Visitors), cell(e.Visits, s.Visits), cell(e.Pageviews, s.Pageviews))
	}
}

func median(ds []time.Duration) float64 {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ms(ds[len(ds)/2])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// load fills the data set unless it already holds rows events.
func load(ctx context.Context, eng storage.Engine, rows int, end time.Time) error {
	var have, hashed uint64
	if err := storage.QueryRow(ctx, eng, "SELECT count(), countIf(visitor_id > 0xFFFFFFFFFFFF) FROM events", &have, &hashed); err != nil {
		return err
	}
	// The last visit may overshoot; a set of an older generator (visitor
	// ids 1 to 300k) is loaded again.
	if have >= uint64(rows) && have < uint64(rows)+8 && hashed > have/2 {
		return nil
	}
	if have != 0 {
		for _, t := range []string{"events", "sessions", "daily_stats", "daily_stats_done", "daily_stats_slots", "daily_stats_prefixes", "day_counts"} {
			if err := eng.ExecSQL(ctx, "TRUNCATE TABLE "+t); err != nil {
				return err
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	zipf := func(n uint64) func() uint64 { return rand.NewZipf(rng, 1.2, 1, n-1).Uint64 }
	page, src, country, browser := zipf(2000), zipf(uint64(len(sources))), zipf(uint64(len(countries))), zipf(uint64(len(browsers)))
	// A day's people: 1.3 visits each (4.5 hits a visit).
	people := max(1000, rows/30*10/45*10/13)
	start := end.AddDate(0, 0, -30)
	const batch = 100_000
	var sessions []mote.SessionRow
	events := make([]mote.Event, 0, batch)
	began := time.Now()
	var batchID uint64
	for written := 0; written < rows; {
		// One visit: 1-6 pageviews, maybe an event, an engagement beacon.
		sid := rng.Uint64()
		ts := start.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		// The collector's visitor id: a keyed hash of the person and the day.
		vid := splitmix.Mix64(uint64(rng.IntN(people))<<16 | uint64(ts.Sub(start)/(24*time.Hour)))
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
				ev.PropKeys, ev.PropValues = []string{"plan"}, []string{plans[rng.IntN(len(plans))]}
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
	// Loaded around the Batcher: mark the days changed for the summaries.
	return storage.MarkStoredDays(ctx, eng)
}

var (
	sources = [][3]string{{"", "", "direct"}, {"www.google.com", "Google", "search"}, {"news.ycombinator.com", "Hacker News", "social"},
		{"www.bing.com", "Bing", "search"}, {"chatgpt.com", "ChatGPT", "ai"}, {"t.co", "Twitter", "social"}, {"duckduckgo.com", "DuckDuckGo", "search"},
		{"www.reddit.com", "Reddit", "social"}, {"github.com", "github.com", "referral"}, {"mail.google.com", "Gmail", "email"}}
	countries = [][3]string{{"US", "US-CA", "San Francisco"}, {"DE", "DE-BE", "Berlin"}, {"GB", "GB-ENG", "London"}, {"FR", "FR-IDF", "Paris"},
		{"US", "US-NY", "New York"}, {"IN", "IN-KA", "Bengaluru"}, {"BR", "BR-SP", "São Paulo"}, {"JP", "JP-13", "Tokyo"},
		{"NL", "NL-NH", "Amsterdam"}, {"CA", "CA-ON", "Toronto"}, {"SE", "SE-AB", "Stockholm"}, {"PL", "PL-14", "Warsaw"}}
	browsers = []string{"Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Opera"}
	plans    = []string{"free", "pro", "team"}
)
