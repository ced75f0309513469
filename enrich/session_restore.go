package enrich

import (
	"slices"
	"time"

	"github.com/mote-analytics/mote"
)

// Restore puts a visit's stored state back into the cache, so that a
// collector that restarted continues the visits in progress: same session
// ID, entry page, first-touch attribution and counters, and the next
// update cancels exactly the version stored. The rebuild feeds it the
// latest state of each visit from storage and every state row the spool
// still holds, in any order: a row older (by Version) than the one held
// is ignored; call Restored when done. Rows whose visit is over at now (EndTS more than Idle
// before) are ignored too, and so are cancel rows. It reports whether the
// row was taken. r's strings are copied.
//
// The rebuilt visit's last activity is EndTS, which storage keeps in
// whole seconds. Whether it counted as engaged is read back from the row:
// a visit with one pageview and no custom event that is not a bounce was
// engaged.
func (s *Sessions) Restore(r *mote.SessionRow, now time.Time) bool {
	if r.Sign != 1 || r.VisitorID == 0 || now.Sub(r.EndTS) > s.cfg.Idle {
		return false
	}
	sh := s.shard(r.VisitorID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[r.VisitorID]
	switch {
	case e == nil:
		e = s.take(sh)
		sh.m[r.VisitorID] = e
		sh.n++
	case e.row.SessionID == r.SessionID && e.row.Version >= r.Version:
		return false
	case e.row.SessionID != r.SessionID && !r.EndTS.After(e.row.EndTS):
		return false // an older visit of the same visitor
	}
	e.row = *r
	e.row.BatchID = 0
	a := appendFirstTouch(e.arena[:0], r)
	e.arena = a
	pointFirstTouch(&e.row, e.arena)
	e.exit = append(e.exit[:0], r.ExitPage...)
	e.row.ExitPage = UnsafeString(e.exit)
	e.row.StartTS, e.row.EndTS = r.StartTS.UTC(), r.EndTS.UTC()
	e.last = e.row.EndTS
	e.engaged = r.Bounce == 0 && r.Pageviews <= 1 && r.Events == 0
	sh.touch(e)
	return true
}

// Restored orders each shard's LRU list by last activity; call it once
// after the Restore calls of a rebuild (which link entries in arrival
// order) and before Track runs: sweep and eviction read the cold end.
func (s *Sessions) Restored() {
	var es []*sessionEntry
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		es = es[:0]
		for e := sh.lru.next; e != &sh.lru; e = e.next {
			es = append(es, e)
		}
		slices.SortStableFunc(es, func(a, b *sessionEntry) int { return b.last.Compare(a.last) })
		prev := &sh.lru
		for _, e := range es {
			prev.next, e.prev = e, prev
			prev = e
		}
		prev.next, sh.lru.prev = &sh.lru, prev
		sh.mu.Unlock()
	}
}

// Forget drops visitor's visit from the cache. The collector calls it
// when the spool refused a hit that Track had already counted: the stored
// state is then the one before that hit, and the visitor's next hit
// starts a new visit rather than cancelling a state that was never
// stored.
func (s *Sessions) Forget(visitor uint64) {
	sh := s.shard(visitor)
	sh.mu.Lock()
	if e := sh.m[visitor]; e != nil {
		s.remove(sh, e)
	}
	sh.mu.Unlock()
}
