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

// benchSessions are the visit updates of events, as the session cache
// makes them: each hit rewrites its visit's state (a cancel of the
// previous one, and the new one).
func benchSessions(events []mote.Event) []mote.SessionRow {
	var out []mote.SessionRow
	states := map[uint64]mote.SessionRow{}
	for i := range events {
		e := &events[i]
		st, ok := states[e.SessionID]
		if ok {
			cancel := st
			cancel.Sign = -1
			out = append(out, cancel)
			st.Version++
			st.Bounce = 0
		} else {
			st = mote.SessionRow{SiteID: e.SiteID, SessionID: e.SessionID, VisitorID: e.VisitorID, StartTS: e.TS, Hostname: e.Hostname,
				EntryPage: e.Pathname, ReferrerHost: e.ReferrerHost, ReferrerSource: e.ReferrerSource, Channel: e.Channel,
				UTMSource: e.UTMSource, Country: e.Country, Region: e.Region, City: e.City, Browser: e.Browser, OS: e.OS,
				Device: e.Device, Screen: e.Screen, Bounce: 1, Sign: 1, Version: 1}
		}
		st.EndTS, st.ExitPage = e.TS, e.Pathname
		st.Pageviews++
		st.DurationS = uint32(e.TS.Sub(st.StartTS) / time.Second)
		states[e.SessionID] = st
		out = append(out, st)
	}
	return out
}

// BenchmarkInsertEvents measures InsertEvents end to end (Native
// encoding, streaming into chDB, writing the part) in rows per second.
//
// The "marked" variants also do what the Batcher does for the summaries:
// count each batch's rows, with the visits' updates a collector spools
// with them (a new state, and the cancel of the previous one), into the
// day counts, and once a second (BatcherConfig.MarkEvery) write those
// and the changed slots: what maintaining the summaries costs an insert
// (they are built later, off the insert path; the sessions rows' own
// insert is not measured).
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
				sessions := benchSessions(events)
				var sites []mote.Site
				for i := range 3 {
					sites = append(sites, mote.Site{ID: "site-" + strconv.Itoa(i)})
				}
				days := storage.NewDayCounter(sites, func() time.Time { return events[0].TS })
				b.ReportAllocs()
				b.ResetTimer()
				id := uint64(0)
				var pending int // batches counted, not yet written
				write := func() {
					if err := days.Write(ctx(b), e); err != nil {
						b.Fatal(err)
					}
					// One insert of the batches' slots, as the Batcher's
					// (every batch here has the same slots).
					if pending > 0 {
						if err := storage.MarkChanges(ctx(b), e, events, sessions); err != nil {
							b.Fatal(err)
						}
					}
					pending = 0
				}
				last := time.Now()
				for b.Loop() {
					id++
					if marked {
						if err := days.Prepare(ctx(b), e, events, sessions); err != nil {
							b.Fatal(err)
						}
					}
					if err := e.InsertEvents(ctx(b), id, events); err != nil {
						b.Fatal(err)
					}
					if marked {
						days.Count(events, sessions)
						pending++
						if time.Since(last) >= time.Second {
							write()
							last = time.Now()
						}
					}
				}
				if marked {
					write()
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
