package storage_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/spool"
	"github.com/mote-analytics/mote/storage/stats"
)

// daysSite is in a zone half an hour off the hour, so that its days and
// the UTC days (and the visitor ids' days) differ.
var daysSite = mote.Site{ID: "site", Timezone: "Asia/Kolkata"}

// dayRecord is one spooled hit with its visit's update, as the collector
// appends them.
type dayRecord struct {
	ev   mote.Event
	rows []mote.SessionRow
}

// dayVisits are the records of a day's visits of daysSite (a midnight in
// its zone): 30 visitors, a third of whom come back hours later in a new
// visit, with page views, custom events, engagement (one without a
// visit, which counts nowhere) and a visit that began the evening before.
// Every hit rewrites its visit's state, as the session cache does.
func dayVisits(day time.Time) []dayRecord {
	var out []dayRecord
	visit := func(visitor, session uint64, start time.Time, hits int) {
		state := mote.SessionRow{SiteID: daysSite.ID, SessionID: session, VisitorID: visitor, StartTS: start, EndTS: start,
			EntryPage: "/", Sign: 1, Version: 1}
		for i := range hits {
			ev := mote.Event{SiteID: daysSite.ID, TS: start.Add(time.Duration(i) * 3 * time.Minute), Kind: mote.KindPageview,
				Hostname: "example.com", Pathname: "/", VisitorID: visitor, SessionID: session}
			switch {
			case i > 0 && i%3 == 0:
				ev.Kind, ev.Name = mote.KindEvent, "Signup"
			case i > 0 && i%4 == 1:
				ev.Kind, ev.EngagementMS, ev.ScrollDepth = mote.KindEngagement, 1500, 60
			}
			prev := state
			state.EndTS, state.DurationS = ev.TS, uint32(ev.TS.Sub(start)/time.Second)
			switch ev.Kind {
			case mote.KindPageview:
				state.Pageviews++
			case mote.KindEvent:
				state.Events++
			}
			state.Bounce = 0
			if state.Pageviews == 1 && state.Events == 0 && state.DurationS == 0 {
				state.Bounce = 1
			}
			rows := []mote.SessionRow{state}
			if i > 0 {
				cancel := prev
				cancel.Sign = -1
				state.Version++
				rows = []mote.SessionRow{cancel, state}
			}
			out = append(out, dayRecord{ev, rows})
		}
	}
	for v := uint64(1); v <= 30; v++ {
		visit(v, v, day.Add(time.Duration(v*37)*time.Minute), 1+int(v%6))
		if v%3 == 0 {
			visit(v, 1000+v, day.Add(time.Duration(v*37)*time.Minute+5*time.Hour), 1+int(v%4))
		}
	}
	visit(99, 99, day.Add(-10*time.Minute), 5) // from the evening before
	out = append(out, dayRecord{ev: mote.Event{SiteID: daysSite.ID, TS: day.Add(3 * time.Hour), Kind: mote.KindEngagement,
		Hostname: "example.com", Pathname: "/", VisitorID: 77, EngagementMS: 900}})
	return out
}

func appendDayRecords(t *testing.T, sp *spool.Spool, recs []dayRecord) {
	t.Helper()
	for i := range recs {
		rows := make([]*mote.SessionRow, len(recs[i].rows))
		for j := range recs[i].rows {
			rows[j] = &recs[i].rows[j]
		}
		if err := sp.Append(&recs[i].ev, rows...); err != nil {
			t.Fatal(err)
		}
	}
}

// dayCounted reports whether day's counts cover every row stored for it.
func dayCounted(t *testing.T, eng storage.Engine, day time.Time) bool {
	t.Helper()
	var slots, counts uint64
	c := context.Background()
	d := "toDate('" + day.Format(time.DateOnly) + "')"
	if err := storage.QueryRow(c, eng, "SELECT sum(n) FROM daily_stats_slots WHERE toDate(slot, 'Asia/Kolkata') = "+d, &slots); err != nil {
		t.Fatal(err)
	}
	if err := storage.QueryRow(c, eng, "SELECT sum(n) FROM day_counts WHERE dimension = '' AND day = "+d, &counts); err != nil {
		t.Fatal(err)
	}
	return slots > 0 && slots == counts
}

// sameDay fails t unless the day's aggregate as served equals the one
// from raw rows alone, and returns it.
func sameDay(t *testing.T, eng storage.Engine, start time.Time) stats.Metrics {
	t.Helper()
	q := stats.Query{SiteID: daysSite.ID, From: start, To: start.AddDate(0, 0, 1), Timezone: daysSite.Timezone}
	got, err := stats.Aggregate(context.Background(), eng, q)
	if err != nil {
		t.Fatal(err)
	}
	q.NoSummaries = true
	want, err := stats.Aggregate(context.Background(), eng, q)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("today as served %+v\nfrom raw rows %+v", got, want)
	}
	return want
}

// TestBatcherCountsDays: the Batcher counts the day around now as it
// stores it, across a clean restart (the new process loads the day's
// visitors from storage, and returning visitors are not counted again),
// and the day's cards read from the counts equal the raw rows'. After a
// crash between an insert and its counts, the replay leaves the counts
// short and the day is read raw, still exact.
func TestBatcherCountsDays(t *testing.T) {
	loc, _ := time.LoadLocation(daysSite.Timezone)
	now := time.Now().In(loc)
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	noon := func() time.Time { return start.Add(12 * time.Hour) }
	recs := dayVisits(start)
	cfg := storage.BatcherConfig{MaxRows: 7, Sites: []mote.Site{daysSite}, Now: noon}

	t.Run("restart", func(t *testing.T) {
		d := newTestDB(t, testenv.ClickHouse(t))
		dir := t.TempDir()
		half := len(recs) / 2
		for _, part := range [][]dayRecord{recs[:half], recs[half:]} {
			sp := openSpool(t, dir)
			appendDayRecords(t, sp, part)
			b := storage.NewBatcher(sp, d.eng, cfg, quietLogger())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := b.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
			if b.Counters().DayPairs == 0 {
				t.Errorf("the Batcher counted the day but reports no pairs held (%+v)", b.Counters())
			}
			sp.Close()
		}
		if !dayCounted(t, d.eng, day) {
			t.Fatal("the day's counts do not cover its rows after a clean restart")
		}
		m := sameDay(t, d.eng, start)
		if m.Visitors != 31 || m.Visits != 41 || m.Events == 0 || m.Engagements == 0 {
			t.Errorf("today %+v: want 31 visitors (30, and the one from the evening before) in 41 visits, with events and engagement", m)
		}
	})

	t.Run("crash", func(t *testing.T) {
		d := newTestDB(t, testenv.ClickHouse(t))
		dir := t.TempDir()
		sp := openSpool(t, dir)
		appendDayRecords(t, sp, recs)
		ctx, cancel := context.WithCancel(context.Background())
		b := storage.NewBatcher(sp, &stopAfterInsert{Engine: d.eng, crash: cancel}, cfg, quietLogger())
		if err := b.Run(ctx); err != nil {
			t.Fatal(err)
		}
		sp.Close() // no Drain: the process died before counting its insert
		sp = openSpool(t, dir)
		defer sp.Close()
		b = storage.NewBatcher(sp, d.eng, cfg, quietLogger())
		dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer dcancel()
		if err := b.Drain(dctx); err != nil {
			t.Fatal(err)
		}
		if st := b.Counters(); st.RowsSkipped == 0 {
			t.Fatalf("stats %+v: the replay found nothing stored, so nothing was tested", st)
		}
		if dayCounted(t, d.eng, day) {
			t.Fatal("the day's counts cover its rows although a stored batch was never counted")
		}
		if m := sameDay(t, d.eng, start); m.Visitors != 31 {
			t.Errorf("today read raw after the crash: %+v, want 31 visitors", m)
		}
	})
}
