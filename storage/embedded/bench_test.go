package embedded

import (
	"strconv"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// benchEvents returns n realistic pageviews in one month (so an insert
// makes one part), a few sites and a spread of pages and visitors.
func benchEvents(n int) []mote.Event {
	events := make([]mote.Event, n)
	base := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	for i := range events {
		events[i] = mote.Event{
			SiteID: "site-" + strconv.Itoa(i%3), TS: base.Add(time.Duration(i) * time.Second), Kind: mote.KindPageview,
			Hostname: "www.example.com", Pathname: "/blog/post-" + strconv.Itoa(i%500),
			ReferrerHost: "news.ycombinator.com", ReferrerSource: "Hacker News", Channel: "social",
			UTMSource: "newsletter", Country: "FR", Region: "FR-IDF", City: "Paris",
			Browser: "Firefox", BrowserVersion: "133", OS: "Linux", OSVersion: "6", Device: "desktop", Screen: "laptop",
			VisitorID: uint64(i) * 0x9e3779b97f4a7c15, SessionID: uint64(i/4) * 0x9e3779b97f4a7c15, ScrollDepth: uint8(i % 101),
		}
	}
	return events
}

// BenchmarkInsertEvents measures InsertEvents end to end (Native
// encoding, streaming into chDB, writing the part) in rows per second.
//
// The "marked" variants also mark the batch's days changed for the day
// summaries, as the Batcher does after every batch: what maintaining the
// summaries costs an insert (they are built later, off the insert path).
func BenchmarkInsertEvents(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, marked := range []bool{false, true} {
			name := strconv.Itoa(n)
			if marked {
				name += "/marked"
			}
			b.Run(name, func(b *testing.B) {
				e := newEngine(b, true)
				events := benchEvents(n)
				b.ReportAllocs()
				b.ResetTimer()
				id := uint64(0)
				for b.Loop() {
					id++
					if err := e.InsertEvents(ctx(b), id, events); err != nil {
						b.Fatal(err)
					}
					if marked {
						if err := storage.MarkChanges(ctx(b), e, events, nil); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkEncode is the Native encoding alone.
func BenchmarkEncode(b *testing.B) {
	events := benchEvents(10_000)
	types := make([]string, len(storage.EventColumns))
	for i := range types {
		types[i] = "String"
	}
	var buf []byte
	var block nativeBlock
	b.ReportAllocs()
	for b.Loop() {
		buf = block.appendEvents(buf[:0], types, events, 1)
	}
	b.ReportMetric(float64(len(events))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
