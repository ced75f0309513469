package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
)

// refVisit is a visit as the reference sessionizer computes it from the
// stored events alone, with the session id its events carry.
type refVisit struct {
	visitor          uint64
	sessionIDs       map[uint64]bool // of its events: exactly one when the collector agrees
	start, end       time.Time
	entry, exit      string
	pageviews        uint32
	source, channel  string // first touch
	utmSource, first string // first touch; first is the first event's path, for messages
}

// storedHit is an events row the reference sessionizer reads.
type storedHit struct {
	visitor, session uint64
	ts               time.Time
	seq              int // the load's send order within the visitor (from the path)
	kind, path       string
	source, channel  string
	utmSource        string
}

// referenceVisits is an independent sessionizer over stored events, with
// the rule the collector implements: a visitor's hits belong to one visit
// until a gap of more than 30 minutes; the visit's entry page, referrer
// source, channel and UTM source are those of its first hit, its exit page
// that of its last pageview. Hits of one second are ordered by the load's
// sequence number (events keep whole seconds only).
func referenceVisits(hits []storedHit) []*refVisit {
	slices.SortFunc(hits, func(a, b storedHit) int {
		if a.visitor != b.visitor {
			return compareU64(a.visitor, b.visitor)
		}
		if c := a.ts.Compare(b.ts); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	var out []*refVisit
	var cur *refVisit
	for _, h := range hits {
		if h.kind != "pageview" && h.kind != "event" {
			continue
		}
		if cur == nil || cur.visitor != h.visitor || h.ts.Sub(cur.end) > 30*time.Minute {
			cur = &refVisit{visitor: h.visitor, sessionIDs: map[uint64]bool{}, start: h.ts, entry: h.path,
				source: h.source, channel: h.channel, utmSource: h.utmSource, first: h.path}
			out = append(out, cur)
		}
		cur.sessionIDs[h.session] = true
		cur.end = h.ts
		if h.kind == "pageview" {
			cur.pageviews++
			cur.exit = h.path
		}
	}
	return out
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// foldedVisit is a live row of the sessions table folded by sign per
// (session, version), as the dashboards read it.
type foldedVisit struct {
	visitor                 uint64
	version                 uint32
	start, end              time.Time
	entry, exit             string
	pageviews, duration     uint32
	source, channel, utmSrc string
}

// checkVisits compares the sessions table, folded, with the reference
// sessionizer over the events table: every version folds to 0 or +1 (a
// lost or doubled row shows as -1 or 2), each visit has one live version,
// each reference visit's events carry one session id, and that session's
// live row has the reference's start, end, entry and exit pages, page
// views, duration and first-touch source. It returns the number of
// visits.
func checkVisits(t *testing.T, db storage.SQL, fault string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := db.QuerySQL(ctx, "SELECT visitor_id, session_id, ts, toString(kind), pathname, referrer_source, channel, utm_source FROM events")
	if err != nil {
		t.Fatal(err)
	}
	var hits []storedHit
	for i := range rows.Values {
		var h storedHit
		if err := rows.Scan(i, &h.visitor, &h.session, &h.ts, &h.kind, &h.path, &h.source, &h.channel, &h.utmSource); err != nil {
			t.Fatal(err)
		}
		h.seq, _ = strconv.Atoi(h.path[strings.LastIndexByte(h.path, '/')+1:])
		hits = append(hits, h)
	}
	ref := referenceVisits(hits)

	rows, err = db.QuerySQL(ctx, `SELECT session_id, version, toInt64(sum(sign)) AS s, any(visitor_id), any(start_ts), any(end_ts),
		any(entry_page), any(exit_page), any(pageviews), any(duration_s), any(referrer_source), any(channel), any(utm_source)
		FROM sessions GROUP BY session_id, version HAVING s != 0`)
	if err != nil {
		t.Fatal(err)
	}
	live := map[uint64]foldedVisit{}
	for i := range rows.Values {
		var id uint64
		var s int64
		var v foldedVisit
		if err := rows.Scan(i, &id, &v.version, &s, &v.visitor, &v.start, &v.end, &v.entry, &v.exit, &v.pageviews, &v.duration,
			&v.source, &v.channel, &v.utmSrc); err != nil {
			t.Fatal(err)
		}
		if s != 1 {
			t.Errorf("%s: session %x version %d folds to %d", fault, id, v.version, s)
		}
		if _, dup := live[id]; dup {
			t.Errorf("%s: session %x has two live versions", fault, id)
		}
		live[id] = v
	}
	if len(live) != len(ref) {
		t.Errorf("%s: %d visits in sessions, %d by the reference sessionizer over %d events", fault, len(live), len(ref), len(hits))
	}
	for _, r := range ref {
		if len(r.sessionIDs) != 1 {
			t.Errorf("%s: visitor %x's visit from %s (entry %s) is split over %d session ids", fault, r.visitor, r.start.Format(time.TimeOnly), r.entry, len(r.sessionIDs))
			continue
		}
		var id uint64
		for id = range r.sessionIDs {
		}
		g, ok := live[id]
		want := foldedVisit{visitor: r.visitor, version: g.version, start: r.start, end: r.end, entry: r.entry, exit: r.exit,
			pageviews: r.pageviews, duration: uint32(r.end.Sub(r.start) / time.Second), source: r.source, channel: r.channel, utmSrc: r.utmSource}
		if !ok || !g.start.Equal(want.start) || !g.end.Equal(want.end) {
			t.Errorf("%s: session %x: stored %+v, reference %+v", fault, id, g, want)
			continue
		}
		g.start, g.end, want.start, want.end = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if g != want {
			t.Errorf("%s: session %x: stored %+v, reference %+v", fault, id, g, want)
		}
	}
	return len(ref)
}

// serverSQL is storage.SQL on database db of a test ClickHouse server.
func serverSQL(t *testing.T, srv *testenv.Server, db string) storage.SQL {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng, err := clickhouse.Open(ctx, clickhouse.Config{DSN: srv.DSN(db)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// visitLoadUA is the user agent of load visitor v: distinct user agents
// are distinct visitors (the visitor hash covers the user agent).
func visitLoadUA(v int) string {
	return fmt.Sprintf("Mozilla/5.0 (X11; Linux x86_64; rv:%d.0) Gecko/20100101 Firefox/%d.0", 100+v, 100+v)
}

// TestVisitSurvivesRestart: a visit in progress continues across a clean
// stop and start of `mote serve` on the same spool and database (same
// session id, entry page and first-touch source), hits sent before the
// stop still only in the spool included; the start reports the rebuild in
// its log and in /metrics. (The SIGKILL case is in the fault suite:
// TestFaultCollectorKilled checks no visit is split.)
func TestVisitSurvivesRestart(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	config := testConfig(t, srv.DSN(db), t.TempDir())
	send := func(base, page, ref string) {
		t.Helper()
		q := url.Values{"s": {"shop"}, "u": {"https://shop.example" + page}}
		if ref != "" {
			q.Set("r", ref)
		}
		req, _ := http.NewRequest("GET", base+"/p.gif?"+q.Encode(), nil)
		req.Header.Set("User-Agent", visitLoadUA(1))
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s answered %d", page, resp.StatusCode)
		}
	}
	inst := startServe(t, config)
	send(inst.collector, "/restart/1", "https://www.google.com/search")
	send(inst.collector, "/restart/2", "https://www.bing.com/")
	inst.stop()
	if inst.err != nil {
		t.Fatal(inst.err)
	}

	inst = startServe(t, config)
	if !strings.Contains(inst.logs.String(), "session cache rebuilt") {
		t.Fatalf("no rebuild reported at start:\n%s", inst.logs.String())
	}
	if v := metricValue(t, inst.admin, "mote_sessions_rebuild_rows"); v < 1 {
		t.Errorf("mote_sessions_rebuild_rows = %v, want the visit restored", v)
	}
	metricValue(t, inst.admin, "mote_sessions_rebuild_seconds")
	send(inst.collector, "/restart/3", "https://news.ycombinator.com/")
	conn := openDB(t, srv.Addr(), db)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got, err := countByPath(conn)
		if err == nil && got["/restart/3"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hit after the restart is not stored (%v)", err)
		}
	}
	var sessions, pageviews uint64
	var entry, exit, source string
	err := conn.QueryRow(context.Background(), `SELECT uniqExact(session_id), (SELECT toUInt64(sum(sign)) FROM sessions),
		(SELECT toUInt64(sum(pageviews * sign)) FROM sessions), (SELECT argMax(entry_page, version) FROM sessions WHERE sign = 1),
		(SELECT argMax(exit_page, version) FROM sessions WHERE sign = 1), (SELECT argMax(referrer_source, version) FROM sessions WHERE sign = 1)
		FROM events`).Scan(&sessions, new(uint64), &pageviews, &entry, &exit, &source)
	if err != nil {
		t.Fatal(err)
	}
	if sessions != 1 || pageviews != 3 || entry != "/restart/1" || exit != "/restart/3" || source != "Google" {
		t.Fatalf("after the restart: %d session ids over the events, %d pageviews, entry %q, exit %q, source %q; want one visit of 3 pageviews from /restart/1 to /restart/3, source Google",
			sessions, pageviews, entry, exit, source)
	}
	if n := checkVisits(t, serverSQL(t, srv, db), "clean restart"); n != 1 {
		t.Fatalf("%d visits, want 1", n)
	}
}
