package enrich

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dchest/siphash"

	"github.com/mote-analytics/mote"
)

// Defaults of SessionConfig.
const (
	DefaultSessionIdle    = 30 * time.Minute
	DefaultSessionEntries = 200_000
	DefaultEngagedAfter   = 10 * time.Second
)

// SessionConfig configures Sessions. The zero value is the usual web
// analytics session: 30 minutes of inactivity end a visit.
type SessionConfig struct {
	// Idle is the inactivity that ends a visit; default 30 minutes.
	Idle time.Duration
	// MaxEntries bounds the visits held in memory; default 200,000 (about
	// 100 MB at most). When full, the least recently active visit is
	// evicted (counted in SessionCounters.Evicted): a later hit of that
	// visitor starts a new visit.
	MaxEntries int
	// EngagedAfter is the visible time an engagement beacon must report to
	// stop a one-page visit from counting as a bounce; default 10 seconds.
	EngagedAfter time.Duration
	// Key keys the session ID hash; zero means a random key per process.
	// It need not survive a restart nor be shared: a visit that continues
	// after a restart keeps the session ID it was restored with (Restore),
	// and only new visits hash a new one. A random key per process also
	// keeps session IDs unlinkable to anything outside this process.
	Key [16]byte
}

// SessionUpdate is what one hit does to the sessions table: when the visit
// existed, Cancel repeats its previous state with Sign -1, and State is the
// new state with Sign +1 and the next Version. The caller stores both with
// the hit (the collector spools them in the hit's record), so the rows are
// exactly as durable as the hit. A caller reuses one
// SessionUpdate per worker; its strings live in the update's own buffer
// and are valid until the next Track with it.
type SessionUpdate struct {
	HasCancel bool
	Cancel    mote.SessionRow
	State     mote.SessionRow

	buf []byte
}

// SessionCounters counts what the cache did.
type SessionCounters struct {
	Active  int    // visits held
	Evicted uint64 // visits dropped because the cache was full
	Expired uint64 // visits ended by inactivity and removed
}

// Sessions turns hits into visits: a bounded in-memory cache keyed by
// visitor ID, sharded so concurrent hits rarely contend. Each visit keeps
// its first-touch attribution (referrer, UTM, geo, device), its entry and
// exit pages and counters. It is safe for concurrent use and, after
// warm-up, Track does not allocate.
type Sessions struct {
	cfg           SessionConfig
	k0, k1        uint64
	shards        []sessionShard
	mask          uint64
	evicted, gone atomic.Uint64
	perShard      int
}

type sessionShard struct {
	mu   sync.Mutex
	m    map[uint64]*sessionEntry
	lru  sessionEntry // sentinel: lru.next is the most recent
	free *sessionEntry
	n    int
}

// sessionEntry is one visit. row's first-touch strings point into arena,
// where they lie back to back (see appendFirstTouch), and ExitPage into
// exit; both are reused when the entry is.
//
// The fields that evicting or expiring the coldest entry reads (the LRU
// links, last, the visitor ID early in row) come first: with a full cache
// every new visit evicts an entry that is no longer in the CPU's caches,
// and they then share its first cache lines.
type sessionEntry struct {
	prev, next *sessionEntry
	last       time.Time
	engaged    bool
	row        mote.SessionRow
	arena      []byte
	exit       []byte
}

// NewSessions returns an empty cache.
func NewSessions(cfg SessionConfig) *Sessions {
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultSessionIdle
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultSessionEntries
	}
	if cfg.EngagedAfter <= 0 {
		cfg.EngagedAfter = DefaultEngagedAfter
	}
	if cfg.Key == ([16]byte{}) {
		_, _ = rand.Read(cfg.Key[:])
	}
	n := 16
	if cfg.MaxEntries < 64 {
		n = 1
	}
	s := &Sessions{
		cfg:      cfg,
		k0:       binary.LittleEndian.Uint64(cfg.Key[:8]),
		k1:       binary.LittleEndian.Uint64(cfg.Key[8:]),
		shards:   make([]sessionShard, n),
		mask:     uint64(n - 1),
		perShard: cfg.MaxEntries / n,
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.m = make(map[uint64]*sessionEntry)
		sh.lru.next, sh.lru.prev = &sh.lru, &sh.lru
	}
	return s
}

func (s *Sessions) shard(visitor uint64) *sessionShard {
	// Visitor IDs are hash outputs: their low bits are uniform.
	return &s.shards[visitor&s.mask]
}

// Live reports whether visitor has a visit that is still running at now
// (Liveness, used by SaltKeeper across midnight).
func (s *Sessions) Live(visitor uint64, now time.Time) bool {
	sh := s.shard(visitor)
	sh.mu.Lock()
	e := sh.m[visitor]
	live := e != nil && now.Sub(e.last) <= s.cfg.Idle
	sh.mu.Unlock()
	return live
}

// Track applies a hit to its visitor's visit and fills out with the rows
// to write; it sets ev.SessionID. It reports false, writing nothing, for
// hits that are not part of a web visit: email opens and clicks, hits
// without a visitor ID, and engagement beacons of a visit no longer held
// (an engagement alone does not start a visit).
//
// A pageview or custom event more than Idle after the visitor's previous
// hit starts a new visit. A pageview moves the exit page and counts; a
// custom event counts and ends the bounce; an engagement beacon extends
// the duration and, when it reports at least EngagedAfter of visible time,
// ends the bounce too.
func (s *Sessions) Track(ev *mote.Event, out *SessionUpdate) bool {
	switch ev.Kind {
	case mote.KindPageview, mote.KindEvent, mote.KindEngagement:
	default:
		return false
	}
	if ev.VisitorID == 0 {
		return false
	}
	ts := ev.TS.UTC()
	sh := s.shard(ev.VisitorID)
	sh.mu.Lock()
	s.sweep(sh, ts)
	e := sh.m[ev.VisitorID]
	if e != nil && ts.Sub(e.last) > s.cfg.Idle {
		s.remove(sh, e)
		s.gone.Add(1)
		e = nil
	}
	out.buf = out.buf[:0]
	out.HasCancel = false
	if e == nil {
		if ev.Kind == mote.KindEngagement {
			sh.mu.Unlock()
			ev.SessionID = 0
			return false
		}
		e = s.take(sh)
		s.start(e, ev, ts)
		sh.m[ev.VisitorID] = e
		sh.n++
	} else {
		out.HasCancel = true
		out.buf = e.copyRow(&out.Cancel, out.buf)
		out.Cancel.Sign = -1
		s.update(e, ev, ts)
	}
	sh.touch(e)
	out.buf = e.copyRow(&out.State, out.buf)
	ev.SessionID = e.row.SessionID
	sh.mu.Unlock()
	return true
}

// start fills a fresh entry from the hit that opens the visit.
func (s *Sessions) start(e *sessionEntry, ev *mote.Event, ts time.Time) {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], ev.VisitorID)
	binary.LittleEndian.PutUint64(b[8:], uint64(ts.UnixNano()))
	e.row = mote.SessionRow{
		SiteID:         ev.SiteID,
		SessionID:      siphash.Hash(s.k0, s.k1, b[:]),
		VisitorID:      ev.VisitorID,
		StartTS:        ts,
		EndTS:          ts,
		Hostname:       ev.Hostname,
		EntryPage:      ev.Pathname,
		ReferrerHost:   ev.ReferrerHost,
		ReferrerSource: ev.ReferrerSource,
		Channel:        ev.Channel,
		UTMSource:      ev.UTMSource,
		UTMMedium:      ev.UTMMedium,
		UTMCampaign:    ev.UTMCampaign,
		UTMTerm:        ev.UTMTerm,
		UTMContent:     ev.UTMContent,
		Country:        ev.Country,
		Region:         ev.Region,
		City:           ev.City,
		Browser:        ev.Browser,
		OS:             ev.OS,
		Device:         ev.Device,
		Screen:         ev.Screen,
		Sign:           1,
		Version:        1,
	}
	// Copy the first-touch strings out of the event into the arena and
	// point the row at the copies. A short arena is replaced at once, with
	// room for longer strings of a later visit.
	n := len(ev.SiteID) + len(ev.Hostname) + len(ev.Pathname) + len(ev.ReferrerHost) + len(ev.ReferrerSource) +
		len(ev.Channel) + len(ev.UTMSource) + len(ev.UTMMedium) + len(ev.UTMCampaign) + len(ev.UTMTerm) +
		len(ev.UTMContent) + len(ev.Country) + len(ev.Region) + len(ev.City) + len(ev.Browser) + len(ev.OS) +
		len(ev.Device) + len(ev.Screen)
	a := e.arena[:0]
	if cap(a) < n {
		a = make([]byte, 0, n+n/2)
	}
	e.arena = appendFirstTouch(a, &e.row)
	pointFirstTouch(&e.row, e.arena)
	e.exit = append(e.exit[:0], ev.Pathname...)
	e.row.ExitPage = UnsafeString(e.exit)
	e.engaged = false
	e.last = ts
	if ev.Kind == mote.KindPageview {
		e.row.Pageviews = 1
	} else {
		e.row.Events = 1
	}
	e.row.Bounce = bounce(e)
}

// update applies a later hit of the visit.
func (s *Sessions) update(e *sessionEntry, ev *mote.Event, ts time.Time) {
	switch ev.Kind {
	case mote.KindPageview:
		e.row.Pageviews++
		e.exit = append(e.exit[:0], ev.Pathname...)
		e.row.ExitPage = UnsafeString(e.exit)
	case mote.KindEvent:
		e.row.Events++
	case mote.KindEngagement:
		if time.Duration(ev.EngagementMS)*time.Millisecond >= s.cfg.EngagedAfter {
			e.engaged = true
		}
	}
	if ts.After(e.row.EndTS) {
		e.row.EndTS = ts
	}
	if ts.After(e.last) {
		e.last = ts
	}
	// Whole seconds between the stored (second) timestamps, so that the
	// duration equals end_ts - start_ts as stored, and a visit restored
	// from storage continues with the same arithmetic.
	e.row.DurationS = uint32(e.row.EndTS.Unix() - e.row.StartTS.Unix())
	e.row.Bounce = bounce(e)
	e.row.Version++
}

func bounce(e *sessionEntry) uint8 {
	if e.row.Pageviews <= 1 && e.row.Events == 0 && !e.engaged {
		return 1
	}
	return 0
}

// sweep removes up to two expired visits from the cold end, so idle
// visits do not hold memory until the cache is full.
func (s *Sessions) sweep(sh *sessionShard, now time.Time) {
	for range 2 {
		e := sh.lru.prev
		if e == &sh.lru || now.Sub(e.last) <= s.cfg.Idle {
			return
		}
		s.remove(sh, e)
		s.gone.Add(1)
	}
}

// take returns an entry to fill: a free one, a new one while below the
// bound, else the least recently active visit, evicted.
func (s *Sessions) take(sh *sessionShard) *sessionEntry {
	if e := sh.free; e != nil {
		sh.free = e.next
		e.next = nil
		return e
	}
	if sh.n < s.perShard || s.perShard == 0 && sh.n == 0 {
		return &sessionEntry{}
	}
	e := sh.lru.prev
	s.remove(sh, e)
	s.evicted.Add(1)
	e = sh.free
	sh.free = e.next
	e.next = nil
	return e
}

// remove takes e out of the map and the LRU list onto the free list.
func (s *Sessions) remove(sh *sessionShard, e *sessionEntry) {
	delete(sh.m, e.row.VisitorID)
	e.prev.next, e.next.prev = e.next, e.prev
	// e.row is not cleared: a free entry's row is never read, start
	// overwrites all of it, and its strings point only into the entry's
	// own arena and exit buffers.
	e.prev = nil
	e.next = sh.free
	sh.free = e
	sh.n--
}

// touch moves e to the warm end of the LRU list.
func (sh *sessionShard) touch(e *sessionEntry) {
	if e.prev != nil {
		e.prev.next, e.next.prev = e.next, e.prev
	}
	e.next = sh.lru.next
	e.prev = &sh.lru
	sh.lru.next.prev = e
	sh.lru.next = e
}

// Counters returns the cache's counters.
func (s *Sessions) Counters() SessionCounters {
	st := SessionCounters{Evicted: s.evicted.Load(), Expired: s.gone.Load()}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		st.Active += sh.n
		sh.mu.Unlock()
	}
	return st
}

// copyRow copies the entry's row into dst with every string copied into
// buf, and returns buf. The first-touch strings lie back to back in the
// arena, so one copy of the arena and a re-slicing by their lengths
// replace a copy per string; only the exit page, which moves, is copied
// apart.
func (e *sessionEntry) copyRow(dst *mote.SessionRow, buf []byte) []byte {
	*dst = e.row
	i := len(buf)
	buf = append(buf, e.arena...)
	pointFirstTouch(dst, buf[i:])
	i = len(buf)
	buf = append(buf, e.exit...)
	dst.ExitPage = UnsafeString(buf[i:len(buf):len(buf)])
	return buf
}

// appendFirstTouch appends r's first-touch strings (those set once, when
// the visit starts) to b back to back: the layout of a sessionEntry's
// arena, which pointFirstTouch reads back in the same order.
func appendFirstTouch(b []byte, r *mote.SessionRow) []byte {
	b = append(b, r.SiteID...)
	b = append(b, r.Hostname...)
	b = append(b, r.EntryPage...)
	b = append(b, r.ReferrerHost...)
	b = append(b, r.ReferrerSource...)
	b = append(b, r.Channel...)
	b = append(b, r.UTMSource...)
	b = append(b, r.UTMMedium...)
	b = append(b, r.UTMCampaign...)
	b = append(b, r.UTMTerm...)
	b = append(b, r.UTMContent...)
	b = append(b, r.Country...)
	b = append(b, r.Region...)
	b = append(b, r.City...)
	b = append(b, r.Browser...)
	b = append(b, r.OS...)
	b = append(b, r.Device...)
	b = append(b, r.Screen...)
	return b
}

// pointFirstTouch points r's first-touch strings, keeping their lengths,
// at consecutive bytes of b laid out by appendFirstTouch.
func pointFirstTouch(r *mote.SessionRow, b []byte) {
	r.SiteID, b = nextString(b, len(r.SiteID))
	r.Hostname, b = nextString(b, len(r.Hostname))
	r.EntryPage, b = nextString(b, len(r.EntryPage))
	r.ReferrerHost, b = nextString(b, len(r.ReferrerHost))
	r.ReferrerSource, b = nextString(b, len(r.ReferrerSource))
	r.Channel, b = nextString(b, len(r.Channel))
	r.UTMSource, b = nextString(b, len(r.UTMSource))
	r.UTMMedium, b = nextString(b, len(r.UTMMedium))
	r.UTMCampaign, b = nextString(b, len(r.UTMCampaign))
	r.UTMTerm, b = nextString(b, len(r.UTMTerm))
	r.UTMContent, b = nextString(b, len(r.UTMContent))
	r.Country, b = nextString(b, len(r.Country))
	r.Region, b = nextString(b, len(r.Region))
	r.City, b = nextString(b, len(r.City))
	r.Browser, b = nextString(b, len(r.Browser))
	r.OS, b = nextString(b, len(r.OS))
	r.Device, b = nextString(b, len(r.Device))
	r.Screen, _ = nextString(b, len(r.Screen))
}

// nextString returns the first n bytes of b as a string, and the rest.
func nextString(b []byte, n int) (string, []byte) {
	return UnsafeString(b[:n:n]), b[n:]
}
