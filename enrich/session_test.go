package enrich

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
)

// rowLog keeps copies of every row of the updates it is given, as the
// spool does.
type rowLog struct{ rows []mote.SessionRow }

// loggedSessions is Sessions whose Track hands each update to log, as the
// collector hands it to the spool.
type loggedSessions struct {
	*Sessions
	log *rowLog
}

func (l loggedSessions) Track(ev *mote.Event, u *SessionUpdate) bool {
	ok := l.Sessions.Track(ev, u)
	if ok {
		l.log.AppendSessionRows(u)
	}
	return ok
}

func (l *rowLog) AppendSessionRows(u *SessionUpdate) {
	cp := func(r mote.SessionRow) mote.SessionRow {
		for _, f := range []*string{&r.SiteID, &r.Hostname, &r.EntryPage, &r.ExitPage, &r.ReferrerSource, &r.Channel, &r.Country, &r.Browser} {
			*f = string([]byte(*f))
		}
		return r
	}
	if u.HasCancel {
		l.rows = append(l.rows, cp(u.Cancel))
	}
	l.rows = append(l.rows, cp(u.State))
}

// final folds the log like the VersionedCollapsingMergeTree: the state
// rows not cancelled by a -1 row of the same session and version.
func (l *rowLog) final() map[uint64]mote.SessionRow {
	type key struct {
		id uint64
		v  uint32
	}
	sum := map[key]int{}
	last := map[key]mote.SessionRow{}
	for _, r := range l.rows {
		k := key{r.SessionID, r.Version}
		sum[k] += int(r.Sign)
		if r.Sign > 0 {
			last[k] = r
		}
	}
	out := map[uint64]mote.SessionRow{}
	for k, n := range sum {
		if n != 0 && n != 1 {
			panic(fmt.Sprintf("session %x version %d folds to %d", k.id, k.v, n))
		}
		if n == 1 {
			if _, dup := out[k.id]; dup {
				panic(fmt.Sprintf("session %x has two live versions", k.id))
			}
			out[k.id] = last[k]
		}
	}
	return out
}

var t0 = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)

func hit(kind mote.Kind, visitor uint64, at time.Duration, path string) *mote.Event {
	return &mote.Event{
		SiteID: "demo", TS: t0.Add(at), Kind: kind, VisitorID: visitor, Hostname: "example.com", Pathname: path,
		ReferrerHost: "www.google.com", ReferrerSource: "Google", Channel: "search", Country: "FR", Browser: "Firefox",
	}
}

func TestSessionsVisit(t *testing.T) {
	log := &rowLog{}
	s := loggedSessions{NewSessions(SessionConfig{}), log}
	var u SessionUpdate
	track := func(ev *mote.Event) {
		t.Helper()
		if !s.Track(ev, &u) {
			t.Fatalf("hit %v not tracked", ev.Kind)
		}
	}
	first := hit(mote.KindPageview, 7, 0, "/")
	track(first)
	if u.HasCancel || u.State.Version != 1 || u.State.Bounce != 1 || first.SessionID == 0 {
		t.Fatalf("first hit: %+v", u)
	}
	second := hit(mote.KindPageview, 7, 2*time.Minute, "/pricing")
	second.ReferrerSource, second.Country = "Bing", "DE" // not first touch: ignored
	track(second)
	if !u.HasCancel || u.Cancel.Sign != -1 || u.Cancel.Version != 1 || u.Cancel.ExitPage != "/" || u.State.Version != 2 {
		t.Fatalf("second hit: cancel %+v state %+v", u.Cancel, u.State)
	}
	track(hit(mote.KindEvent, 7, 3*time.Minute, "/pricing"))
	track(hit(mote.KindPageview, 7, 5*time.Minute, "/signup"))
	eng := hit(mote.KindEngagement, 7, 9*time.Minute, "/signup")
	eng.EngagementMS = 240_000
	track(eng)

	got := log.final()
	if len(got) != 1 {
		t.Fatalf("%d sessions, want 1", len(got))
	}
	r := got[first.SessionID]
	want := mote.SessionRow{
		SiteID: "demo", SessionID: first.SessionID, VisitorID: 7, StartTS: t0, EndTS: t0.Add(9 * time.Minute),
		Hostname: "example.com", EntryPage: "/", ExitPage: "/signup", Pageviews: 3, Events: 1, DurationS: 540,
		ReferrerHost: "www.google.com", ReferrerSource: "Google", Channel: "search", Country: "FR", Browser: "Firefox", Sign: 1, Version: 5,
	}
	if r != want {
		t.Fatalf("final session\n got %+v\nwant %+v", r, want)
	}
}

func TestSessionsBounceAndIdle(t *testing.T) {
	log := &rowLog{}
	s := loggedSessions{NewSessions(SessionConfig{}), log}
	var u SessionUpdate
	a := hit(mote.KindPageview, 9, 0, "/landing")
	s.Track(a, &u)
	// A short engagement keeps the bounce; a long one ends it.
	short := hit(mote.KindEngagement, 9, time.Minute, "/landing")
	short.EngagementMS = 3000
	s.Track(short, &u)
	if u.State.Bounce != 1 || u.State.DurationS != 60 {
		t.Fatalf("after a short engagement: bounce %d, duration %d", u.State.Bounce, u.State.DurationS)
	}
	// 31 minutes later: a new visit with a new ID.
	b := hit(mote.KindPageview, 9, 32*time.Minute, "/again")
	s.Track(b, &u)
	if u.HasCancel || b.SessionID == a.SessionID || u.State.EntryPage != "/again" {
		t.Fatalf("idle visit continued: %+v", u)
	}
	// An engagement alone never starts a visit.
	if s.Track(hit(mote.KindEngagement, 10, 0, "/"), &u) {
		t.Fatal("engagement without a visit was tracked")
	}
	if s.Track(&mote.Event{Kind: mote.KindEmailOpen, VisitorID: 11, TS: t0}, &u) {
		t.Fatal("an email open was tracked as a visit")
	}
	got := log.final()
	if len(got) != 2 || got[a.SessionID].Bounce != 1 || got[b.SessionID].Bounce != 1 {
		t.Fatalf("sessions: %+v", got)
	}
	if st := s.Counters(); st.Expired != 1 || st.Active != 1 {
		t.Fatalf("stats %+v, want one expired and one active", st)
	}
}

// TestSessionsMidnight: a visit that starts before midnight continues
// after it under yesterday's visitor ID while the salt overlap lasts.
func TestSessionsMidnight(t *testing.T) {
	now := time.Date(2026, 6, 1, 23, 50, 0, 0, time.UTC)
	k := NewSaltKeeper(SaltConfig{Now: func() time.Time { return now }})
	log := &rowLog{}
	s := loggedSessions{NewSessions(SessionConfig{}), log}
	var u SessionUpdate
	visit := func(path string) *mote.Event {
		ev := &mote.Event{SiteID: "demo", TS: now, Kind: mote.KindPageview, Hostname: "example.com", Pathname: path}
		ev.VisitorID = k.VisitorID(now, "demo", testIP, testUA, s)
		s.Track(ev, &u)
		return ev
	}
	a := visit("/before")
	now = time.Date(2026, 6, 2, 0, 10, 0, 0, time.UTC)
	b := visit("/after")
	if b.VisitorID != a.VisitorID || b.SessionID != a.SessionID {
		t.Fatal("the visit was cut at midnight")
	}
	// A visitor without a running visit gets today's ID in the overlap.
	other := k.VisitorID(now, "demo", netip.MustParseAddr("192.0.2.1"), testUA, s)
	if other == k.VisitorID(now.Add(-time.Hour), "demo", netip.MustParseAddr("192.0.2.1"), testUA, nil) {
		t.Fatal("a new visitor got yesterday's ID")
	}
	r := log.final()[a.SessionID]
	if r.StartTS != time.Date(2026, 6, 1, 23, 50, 0, 0, time.UTC) || r.DurationS != 20*60 || r.EntryPage != "/before" || r.ExitPage != "/after" || r.Pageviews != 2 || r.Bounce != 0 {
		t.Fatalf("visit across midnight: %+v", r)
	}
	// After the overlap, the same person is a new, unlinkable visitor.
	now = time.Date(2026, 6, 2, 0, 45, 0, 0, time.UTC)
	c := visit("/later")
	if c.VisitorID == a.VisitorID || c.SessionID == a.SessionID {
		t.Fatal("yesterday's ID survived the overlap")
	}
}

func TestSessionsEvictionBound(t *testing.T) {
	for _, max := range []int{5, 1000} {
		s := NewSessions(SessionConfig{MaxEntries: max})
		var u SessionUpdate
		const n = 5000
		for i := range n {
			s.Track(hit(mote.KindPageview, uint64(i+1)*0x9e3779b97f4a7c15, time.Duration(i)*time.Millisecond, "/"), &u)
		}
		st := s.Counters()
		if st.Active > max {
			t.Fatalf("max %d: %d visits held", max, st.Active)
		}
		if st.Evicted != uint64(n-st.Active) {
			t.Fatalf("max %d: %d evicted, want %d", max, st.Evicted, n-st.Active)
		}
	}
}

func BenchmarkSessionsTrack(b *testing.B) {
	s := NewSessions(SessionConfig{MaxEntries: 10_000})
	var u SessionUpdate
	evs := make([]*mote.Event, 20_000)
	for i := range evs {
		evs[i] = hit(mote.KindPageview, uint64(i+1)*0x9e3779b97f4a7c15, 0, "/some/page")
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev := evs[i%len(evs)]
		ev.TS = ev.TS.Add(time.Second)
		s.Track(ev, &u)
		i++
	}
}

// TestSessionsFirstTouchFields: every first-touch string comes back from
// the entry's arena as it was sent (the arena layout and its reading agree
// field by field), in the State of the first hit and in the Cancel and
// State of the next, which brings other values.
func TestSessionsFirstTouchFields(t *testing.T) {
	s := NewSessions(SessionConfig{})
	var u SessionUpdate
	fields := func(e *mote.Event) []*string {
		return []*string{&e.SiteID, &e.Hostname, &e.Pathname, &e.ReferrerHost, &e.ReferrerSource, &e.Channel,
			&e.UTMSource, &e.UTMMedium, &e.UTMCampaign, &e.UTMTerm, &e.UTMContent,
			&e.Country, &e.Region, &e.City, &e.Browser, &e.OS, &e.Device, &e.Screen}
	}
	rowFields := func(r *mote.SessionRow) []string {
		return []string{r.SiteID, r.Hostname, r.EntryPage, r.ReferrerHost, r.ReferrerSource, r.Channel,
			r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent,
			r.Country, r.Region, r.City, r.Browser, r.OS, r.Device, r.Screen}
	}
	first := &mote.Event{Kind: mote.KindPageview, VisitorID: 5, TS: t0}
	var want []string
	for i, f := range fields(first) {
		*f = fmt.Sprintf("v%d-%s", i, strings.Repeat("x", i)) // distinct values and lengths
		want = append(want, *f)
	}
	first.Region = "" // an empty field in the middle
	want[12] = ""
	check := func(what string, r *mote.SessionRow) {
		t.Helper()
		if got := rowFields(r); !slices.Equal(got, want) {
			t.Fatalf("%s first-touch fields\n got %q\nwant %q", what, got, want)
		}
	}
	s.Track(first, &u)
	check("first state", &u.State)
	if u.State.ExitPage != first.Pathname {
		t.Fatalf("exit page %q", u.State.ExitPage)
	}
	next := &mote.Event{Kind: mote.KindPageview, VisitorID: 5, TS: t0.Add(time.Minute)}
	for _, f := range fields(next) {
		*f = "other"
	}
	next.Pathname = "/next"
	s.Track(next, &u)
	check("cancel", &u.Cancel)
	check("second state", &u.State)
	if u.Cancel.ExitPage != first.Pathname || u.State.ExitPage != "/next" {
		t.Fatalf("exit pages %q, %q", u.Cancel.ExitPage, u.State.ExitPage)
	}
}

// TestSessionsRestore: a visit restored from its stored state (in a cache
// with another key, as after a restart) continues with the same session
// ID, entry page and first-touch source, and its next update cancels the
// exact state stored; older rows and visits already over are ignored.
func TestSessionsRestore(t *testing.T) {
	log := &rowLog{}
	before := loggedSessions{NewSessions(SessionConfig{}), log}
	var u SessionUpdate
	first := hit(mote.KindPageview, 7, 0, "/landing")
	before.Track(first, &u)
	before.Track(hit(mote.KindPageview, 7, time.Minute, "/pricing"), &u)
	before.Track(hit(mote.KindPageview, 8, 0, "/old"), &u) // over by the restart
	state := log.final()[first.SessionID]

	after := NewSessions(SessionConfig{})
	now := t0.Add(20 * time.Minute)
	for i := len(log.rows) - 1; i >= 0; i-- { // newest first: older versions must not win
		r := log.rows[i]
		if r.VisitorID == 8 {
			r.EndTS = t0.Add(-time.Hour)
		}
		after.Restore(&r, now)
	}
	after.Restored()
	if st := after.Counters(); st.Active != 1 {
		t.Fatalf("restored %d visits, want 1 (the other is over)", st.Active)
	}
	next := hit(mote.KindPageview, 7, 20*time.Minute, "/signup")
	next.ReferrerSource, next.Channel = "Bing", "search"
	if !after.Track(next, &u) {
		t.Fatal("restored visit not continued")
	}
	if next.SessionID != first.SessionID {
		t.Fatalf("session ID %x after restore, want %x", next.SessionID, first.SessionID)
	}
	if !u.HasCancel || u.Cancel.Version != state.Version || u.Cancel.Pageviews != 2 || u.Cancel.ExitPage != "/pricing" {
		t.Fatalf("cancel %+v does not repeat the stored state %+v", u.Cancel, state)
	}
	if u.State.EntryPage != "/landing" || u.State.ReferrerSource != "Google" || u.State.Pageviews != 3 ||
		u.State.Version != state.Version+1 || u.State.DurationS != 20*60 {
		t.Fatalf("continued state %+v", u.State)
	}
}

// TestSessionsMatchReference replays generated traffic (visitors coming
// back after gaps shorter and longer than 30 minutes, pageviews, custom
// events and engagement beacons, each with its own referrer) through
// Track and compares the folded rows with an independent sessionizer over
// the same hits: the 30-minute rule, first-touch entry page and source,
// last pageview as exit, counts and duration.
func TestSessionsMatchReference(t *testing.T) {
	log := &rowLog{}
	s := loggedSessions{NewSessions(SessionConfig{}), log}
	type ref struct {
		visitor             uint64
		sessions            map[uint64]bool
		start, end          time.Time
		entry, exit, source string
		pageviews, events   uint32
		engaged             bool
	}
	var refs []*ref
	open := map[uint64]*ref{}
	sources := []string{"Google", "Bing", "", "Hacker News"}
	rng := uint64(7)
	next := func(n uint64) uint64 { rng = rng*6364136223846793005 + 1442695040888963407; return (rng >> 33) % n }
	at := time.Duration(0)
	var u SessionUpdate
	for i := range 5000 {
		at += time.Duration(next(40)) * time.Second
		visitor := 1 + next(60)
		if next(50) == 0 {
			at += 31 * time.Minute // everyone's visit ends
		}
		kind := []mote.Kind{mote.KindPageview, mote.KindPageview, mote.KindEvent, mote.KindEngagement}[next(4)]
		ev := hit(kind, visitor, at, fmt.Sprintf("/p%d", i))
		ev.ReferrerSource = sources[next(uint64(len(sources)))]
		if kind == mote.KindEngagement {
			ev.EngagementMS = uint32(next(20_000))
		}
		r := open[visitor]
		if r != nil && ev.TS.Sub(r.end) > 30*time.Minute {
			r = nil
		}
		if r == nil && kind == mote.KindEngagement {
			if s.Track(ev, &u) {
				t.Fatal("an engagement beacon started a visit")
			}
			continue
		}
		if r == nil {
			r = &ref{visitor: visitor, sessions: map[uint64]bool{}, start: ev.TS, entry: ev.Pathname, source: ev.ReferrerSource}
			refs = append(refs, r)
			open[visitor] = r
		}
		r.end = ev.TS
		switch kind {
		case mote.KindPageview:
			r.pageviews++
			r.exit = ev.Pathname
		case mote.KindEvent:
			r.events++
		case mote.KindEngagement:
			r.engaged = r.engaged || ev.EngagementMS >= 10_000
		}
		if !s.Track(ev, &u) {
			t.Fatalf("hit %d not tracked", i)
		}
		r.sessions[ev.SessionID] = true
	}
	got := log.final()
	if len(got) != len(refs) {
		t.Fatalf("%d visits folded, reference %d", len(got), len(refs))
	}
	for _, r := range refs {
		if len(r.sessions) != 1 {
			t.Fatalf("visitor %d's visit from %v has %d session ids", r.visitor, r.start, len(r.sessions))
		}
		var id uint64
		for id = range r.sessions {
		}
		g := got[id]
		if r.exit == "" {
			r.exit = r.entry // a visit started by a custom event keeps its entry as exit until a pageview
		}
		bounce := uint8(0)
		if r.pageviews <= 1 && r.events == 0 && !r.engaged {
			bounce = 1
		}
		if !g.StartTS.Equal(r.start) || !g.EndTS.Equal(r.end) || g.EntryPage != r.entry || g.ExitPage != r.exit ||
			g.ReferrerSource != r.source || g.Pageviews != r.pageviews || g.Events != r.events || g.Bounce != bounce ||
			g.DurationS != uint32(r.end.Sub(r.start)/time.Second) {
			t.Fatalf("visit %x\n got %+v\nwant %+v (bounce %d)", id, g, *r, bounce)
		}
	}
}
