package enginetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

// StatsFixture is a small, hand-countable site: a few visitors and visits
// around one day D of the Asia/Tokyo zone (UTC+9, no daylight saving, so
// the expected numbers are fixed). The stats tests on both engines and
// the dashboards' API tests check their numbers against it.
//
// Tokyo day D is [D-1 15:00, D 15:00) UTC. In it:
//
//	v1 visit s1  01:00 UTC  google/search  DE-BE Berlin  Chrome Windows desktop
//	             pageviews / and /pricing, engagement on /pricing (30 s,
//	             scroll 80), event Signup {plan: pro} on /pricing;
//	             2 pageviews, 120 s, no bounce (the session row went through
//	             one superseded state: +1/-1 pair, then the final +1)
//	v2 visit s2  02:00 UTC  direct ("")    FR-IDF Paris  Firefox Linux desktop
//	             pageview /, engagement on / (10 s, scroll 40); 10 s, no bounce
//	v3 visit s3  03:00 UTC  google/search  DE-BE Berlin  Safari iOS mobile
//	             pageviews /pricing, /docs; 300 s, no bounce (superseded once)
//	v1 visit s4  06:00 UTC  Twitter/social DE-BE Berlin  Chrome Windows desktop
//	             pageview /blog; bounce
//	v7 visit s7  D-1 20:00 UTC (05:00 in Tokyo on D)  utm newsletter/email/launch,
//	             source Newsletter, channel email, NL-NH Amsterdam, Firefox macOS
//	             desktop; pageview /; bounce
//
// Also in it, counted nowhere: an engagement beacon of v8 at D 00:30 UTC
// on /pricing (20 s, scroll 90) without a session (session_id 0), as the
// collector stores one that outlived its visit (after midnight the
// visitor's id is new): v8 is not a visitor, and no figure changes.
//
// Outside it: v5 (s5) at D-1 03:00 UTC (Tokyo day D-1, the previous
// period), v6 (s6) at D 15:30 UTC (Tokyo day D+1), and a hit of another
// site at D 01:00 UTC. Suppressed counters: dnt 3 and gpc 2 on UTC day D,
// no_consent 1 on D-1, dnt 7 on D-5.
type StatsFixture struct {
	Site     string
	Timezone string
	D        time.Time // UTC midnight of day D
}

// DayFrom and DayTo bound Tokyo day D (offset from D by days).
func (f StatsFixture) DayFrom(days int) time.Time { return f.D.AddDate(0, 0, days).Add(-9 * time.Hour) }
func (f StatsFixture) DayTo(days int) time.Time   { return f.DayFrom(days + 1) }

// Query is a query of Tokyo day D of the fixture's site.
func (f StatsFixture) Query() stats.Query {
	return stats.Query{SiteID: f.Site, Timezone: f.Timezone, From: f.DayFrom(0), To: f.DayTo(0)}
}

// visit describes one session and its hits.
type visit struct {
	visitor, session uint64
	start            time.Time
	source, channel  string
	utm              [3]string // source, medium, campaign
	region, city     string
	browser, os      string
	device           string
	hits             []hit
	entry, exit      string
	pageviews        uint32
	duration         uint32
	bounce           uint8
	superseded       bool // write one earlier state with a +1/-1 pair first
}

type hit struct {
	after time.Duration
	kind  mote.Kind
	path  string
	name  string
	ms    uint32
	depth uint8
	props [2]string
}

// SeedStats writes the fixture into e's (migrated) database.
func SeedStats(ctx context.Context, e interface {
	storage.Engine
	storage.SuppressedWriter
	storage.SQL
}) (StatsFixture, error) {
	f := StatsFixture{Site: "shop", Timezone: "Asia/Tokyo", D: time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)}
	at := func(days int, h, m int) time.Time {
		return f.D.AddDate(0, 0, days).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	pv := func(after time.Duration, path string) hit {
		return hit{after: after, kind: mote.KindPageview, path: path}
	}
	visits := []visit{
		{visitor: 1, session: 11, start: at(0, 1, 0), source: "Google", channel: "search", region: "DE-BE", city: "Berlin",
			browser: "Chrome", os: "Windows", device: "desktop", entry: "/", exit: "/pricing", pageviews: 2, duration: 120, superseded: true,
			hits: []hit{pv(0, "/"), pv(time.Minute, "/pricing"),
				{after: 90 * time.Second, kind: mote.KindEngagement, path: "/pricing", ms: 30000, depth: 80},
				{after: 2 * time.Minute, kind: mote.KindEvent, path: "/pricing", name: "Signup", props: [2]string{"plan", "pro"}}}},
		{visitor: 2, session: 12, start: at(0, 2, 0), region: "FR-IDF", city: "Paris", channel: "direct",
			browser: "Firefox", os: "Linux", device: "desktop", entry: "/", exit: "/", pageviews: 1, duration: 10,
			hits: []hit{pv(0, "/"), {after: 10 * time.Second, kind: mote.KindEngagement, path: "/", ms: 10000, depth: 40}}},
		{visitor: 3, session: 13, start: at(0, 3, 0), source: "Google", channel: "search", region: "DE-BE", city: "Berlin",
			browser: "Safari", os: "iOS", device: "mobile", entry: "/pricing", exit: "/docs", pageviews: 2, duration: 300, superseded: true,
			hits: []hit{pv(0, "/pricing"), pv(5*time.Minute, "/docs")}},
		{visitor: 1, session: 14, start: at(0, 6, 0), source: "Twitter", channel: "social", region: "DE-BE", city: "Berlin",
			browser: "Chrome", os: "Windows", device: "desktop", entry: "/blog", exit: "/blog", pageviews: 1, bounce: 1,
			hits: []hit{pv(0, "/blog")}},
		{visitor: 7, session: 17, start: at(-1, 20, 0), source: "Newsletter", channel: "email", utm: [3]string{"newsletter", "email", "launch"},
			region: "NL-NH", city: "Amsterdam", browser: "Firefox", os: "macOS", device: "desktop", entry: "/", exit: "/", pageviews: 1, bounce: 1,
			hits: []hit{pv(0, "/")}},
		// Outside Tokyo day D.
		{visitor: 5, session: 15, start: at(-1, 3, 0), region: "FR-IDF", city: "Paris", channel: "direct",
			browser: "Firefox", os: "Linux", device: "desktop", entry: "/pricing", exit: "/pricing", pageviews: 1, bounce: 1,
			hits: []hit{pv(0, "/pricing")}},
		{visitor: 6, session: 16, start: at(0, 15, 30), region: "FR-IDF", city: "Paris", channel: "direct",
			browser: "Firefox", os: "Linux", device: "desktop", entry: "/", exit: "/", pageviews: 1, bounce: 1,
			hits: []hit{pv(0, "/")}},
	}
	var events []mote.Event
	var rows []mote.SessionRow
	for _, v := range visits {
		events = append(events, v.events(f.Site)...)
		rows = append(rows, v.sessionRows(f.Site)...)
	}
	events = append(events, mote.Event{SiteID: f.Site, TS: at(0, 0, 30), Kind: mote.KindEngagement, Hostname: "shop.example",
		Pathname: "/pricing", VisitorID: 8, EngagementMS: 20000, ScrollDepth: 90})
	events = append(events, mote.Event{SiteID: "elsewhere", TS: at(0, 1, 0), Kind: mote.KindPageview, Hostname: "x.example", Pathname: "/", VisitorID: 1, SessionID: 11})
	if err := e.InsertEvents(ctx, 1, events); err != nil {
		return f, fmt.Errorf("seed events: %w", err)
	}
	if err := storage.InsertSessionRows(ctx, e, rows); err != nil {
		return f, fmt.Errorf("seed sessions: %w", err)
	}
	// As the Batcher would: the days changed (what decides summaries
	// and samples).
	if err := storage.MarkChanges(ctx, e, events, nil); err != nil {
		return f, fmt.Errorf("seed changes: %w", err)
	}
	err := e.InsertSuppressed(ctx, []storage.SuppressedCount{
		{SiteID: f.Site, Day: f.D, Reason: mote.SuppressDNT, Count: 3},
		{SiteID: f.Site, Day: f.D, Reason: mote.SuppressGPC, Count: 2},
		{SiteID: f.Site, Day: f.D.AddDate(0, 0, -1), Reason: mote.SuppressNoConsent, Count: 1},
		{SiteID: f.Site, Day: f.D.AddDate(0, 0, -5), Reason: mote.SuppressDNT, Count: 7},
		{SiteID: "elsewhere", Day: f.D, Reason: mote.SuppressDNT, Count: 100},
	})
	if err != nil {
		return f, fmt.Errorf("seed suppressed: %w", err)
	}
	return f, nil
}

// events are the hits of v as stored events.
func (v visit) events(site string) []mote.Event {
	var events []mote.Event
	country := v.region[:2]
	for _, h := range v.hits {
		ev := mote.Event{
			SiteID: site, TS: v.start.Add(h.after), Kind: h.kind, Name: h.name,
			Hostname: "shop.example", Pathname: h.path,
			Country: country, Region: v.region, City: v.city,
			Browser: v.browser, OS: v.os, Device: v.device,
			VisitorID: v.visitor, SessionID: v.session, EngagementMS: h.ms, ScrollDepth: h.depth,
		}
		if h.after == 0 { // only the first hit of a visit carries the referrer
			ev.ReferrerSource, ev.Channel = v.source, v.channel
			ev.UTMSource, ev.UTMMedium, ev.UTMCampaign = v.utm[0], v.utm[1], v.utm[2]
		}
		if h.props[0] != "" {
			ev.PropKeys, ev.PropValues = []string{h.props[0]}, []string{h.props[1]}
		}
		events = append(events, ev)
	}
	return events
}

// sessionRows are v's rows of the sessions table: its latest state, after
// a cancelled earlier state when v is superseded.
func (v visit) sessionRows(site string) []mote.SessionRow {
	country := v.region[:2]
	var customEvents uint32 // what the session cache counts in the visit's latest state
	for _, h := range v.hits {
		if h.kind == mote.KindEvent {
			customEvents++
		}
	}
	row := func(exit string, pageviews, events, duration uint32, bounce uint8, sign int8, version uint32) mote.SessionRow {
		return mote.SessionRow{SiteID: site, SessionID: v.session, VisitorID: v.visitor, StartTS: v.start,
			EndTS: v.start.Add(time.Duration(duration) * time.Second), Hostname: "shop.example", EntryPage: v.entry, ExitPage: exit,
			Pageviews: pageviews, Events: events, DurationS: duration, Bounce: bounce, ReferrerSource: v.source, Channel: v.channel,
			UTMSource: v.utm[0], UTMMedium: v.utm[1], UTMCampaign: v.utm[2], Country: country, Region: v.region, City: v.city,
			Browser: v.browser, OS: v.os, Device: v.device, Sign: sign, Version: version}
	}
	var rows []mote.SessionRow
	if v.superseded {
		rows = append(rows, row(v.entry, 1, 0, 0, 1, 1, 1), row(v.entry, 1, 0, 0, 1, -1, 1))
	}
	return append(rows, row(v.exit, v.pageviews, customEvents, v.duration, v.bounce, 1, 2))
}

// seedStats migrates e and seeds the fixture, failing t on error.
func seedStats(t *testing.T, e Inspector) StatsFixture {
	t.Helper()
	migrate(t, e)
	f, err := SeedStats(ctx(t), e)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
