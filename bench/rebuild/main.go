// Command rebuild measures how long a starting collector takes to rebuild
// its session cache from storage (storage.ActiveSessions into
// enrich.Sessions.Restore), and the memory the rebuilt cache holds, at a
// given number of active visits, on the embedded engine or a server:
//
//	go run ./bench/rebuild -visits 1000000
//	go run ./bench/rebuild -visits 1000000 -dsn clickhouse://127.0.0.1:9000/bench
//
// It loads the visits once (each with two versions, a cancel pair and a
// live state, as the Batcher stores them), then rebuilds -runs times.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/bench/benchengine"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/storage"
)

const spoolID = 42

func main() {
	visits := flag.Int("visits", 1_000_000, "active visits in storage")
	var target benchengine.Flags
	target.Register("bench/results/rebuild-chdb")
	runs := flag.Int("runs", 3, "rebuilds to time")
	chunks := flag.Int("chunks", storage.DefaultRebuildChunks, "queries the read is split into")
	flag.Parse()
	ctx := context.Background()
	eng := target.Open(ctx)
	defer eng.Close()
	now := time.Now().UTC()
	if err := load(ctx, eng, *visits, now); err != nil {
		log.Fatal(err)
	}
	for run := range *runs {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := enrich.NewSessions(enrich.SessionConfig{MaxEntries: *visits})
		t0 := time.Now()
		restored := 0
		err := storage.ActiveSessions(ctx, eng, spoolID, now.Add(-enrich.DefaultSessionIdle), *chunks, func(r *mote.SessionRow) {
			if s.Restore(r, now) {
				restored++
			}
		})
		if err != nil {
			log.Fatal(err)
		}
		read := time.Since(t0)
		s.Restored()
		took := time.Since(t0)
		runtime.GC()
		runtime.ReadMemStats(&after)
		fmt.Printf("run %d: %d visits restored in %.2fs (read and restore %.2fs; %.0f visits/s); cache holds %d; heap in use %+.0f MiB; peak heap %.0f MiB\n",
			run+1, restored, took.Seconds(), read.Seconds(), float64(restored)/took.Seconds(), s.Counters().Active,
			float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<20), float64(after.HeapSys)/(1<<20))
		runtime.KeepAlive(s)
	}
}

// load inserts n active visits (unless as many are there), each as a
// first state, its cancel and a second state: three rows, one live.
func load(ctx context.Context, eng storage.Engine, n int, now time.Time) error {
	var have uint64
	if err := storage.QueryRow(ctx, eng, "SELECT toUInt64(sum(sign)) FROM sessions WHERE spool_id = "+strconv.Itoa(spoolID)+
		" AND end_ts >= toDateTime("+strconv.FormatInt(now.Add(-20*time.Minute).Unix(), 10)+")", &have); err != nil {
		return err
	}
	if have == uint64(n) {
		return nil
	}
	if err := eng.ExecSQL(ctx, "TRUNCATE TABLE sessions"); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pages := []string{"/", "/pricing", "/blog/launch", "/docs/getting-started", "/signup"}
	sources := [][3]string{{"www.google.com", "Google", "Organic Search"}, {"", "", "Direct"}, {"news.ycombinator.com", "Hacker News", "Organic Social"}}
	const batch = 100_000
	rows := make([]mote.SessionRow, 0, 3*batch)
	began := time.Now()
	for i := range n {
		start := now.Add(-time.Duration(rng.Int64N(int64(15 * time.Minute))))
		src := sources[rng.IntN(len(sources))]
		first := mote.SessionRow{SiteID: "demo", SessionID: rng.Uint64(), VisitorID: max(rng.Uint64(), 1), StartTS: start, EndTS: start,
			Hostname: "example.com", EntryPage: pages[rng.IntN(len(pages))], Pageviews: 1, Bounce: 1,
			ReferrerHost: src[0], ReferrerSource: src[1], Channel: src[2], Country: "DE", Region: "DE-BE", City: "Berlin",
			Browser: "Firefox", OS: "Linux", Device: "desktop", Screen: "laptop", Sign: 1, Version: 1, BatchID: uint64(i), SpoolID: spoolID}
		first.ExitPage = first.EntryPage
		cancel := first
		cancel.Sign = -1
		second := first
		second.EndTS, second.ExitPage, second.Pageviews, second.Bounce, second.Version = start.Add(time.Minute), pages[rng.IntN(len(pages))], 2, 0, 2
		second.DurationS = 60
		rows = append(rows, first, cancel, second)
		if len(rows) >= 3*batch || i == n-1 {
			if err := storage.InsertSessionRows(ctx, eng, rows); err != nil {
				return err
			}
			rows = rows[:0]
			fmt.Fprintf(os.Stderr, "\rloaded %d visits (%.0f/s)", i+1, float64(i+1)/time.Since(began).Seconds())
		}
	}
	fmt.Fprintln(os.Stderr)
	return nil
}
