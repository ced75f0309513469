package enrich

import (
	"hash/maphash"
	"net/netip"
	"sync/atomic"

	"github.com/mote-analytics/mote/internal/splitmix"
)

// slotCache is the bounded cache behind Geo and AgentParser (and the
// tests' IsBot): a fixed array of slots, each holding at most one immutable entry. A key
// may live in one of two slots chosen by its hash (two-choice hashing): a
// direct-mapped table would let two hot keys that share a slot evict each
// other on every hit (with 200 keys in 16k slots that already happens to
// about one pair), two choices make such thrashing vanishingly rare.
//
// Why this shape: the hit path must not allocate nor take a lock. A read is
// one atomic pointer load and a key comparison; a miss computes the value
// and publishes a new entry with one atomic store. Eviction is implicit: a
// new key takes a free one of its two slots, or else replaces the occupant
// of one of them (picked by a hash bit), so memory is fixed at
// len(slots) entries whatever the traffic, and a burst of one-off keys (a
// scan, a bot storm) can only push out as many entries as it has keys. Real
// traffic is dominated by a few hundred user agents and networks, which stay
// resident in a table many times that size. Two goroutines missing on the
// same slot both compute and the last store wins, which is harmless because
// values are pure functions of their keys.
type slotCache[K comparable, V any] struct {
	slots []atomic.Pointer[cacheEntry[K, V]]
	mask  uint64
}

type cacheEntry[K comparable, V any] struct {
	key K
	val V
}

// newSlotCache makes a cache of size slots, rounded up to a power of two
// (at least 16) so a slot index is a mask of the hash.
func newSlotCache[K comparable, V any](size int) *slotCache[K, V] {
	n := 16
	for n < size && n < 1<<24 {
		n <<= 1
	}
	return &slotCache[K, V]{slots: make([]atomic.Pointer[cacheEntry[K, V]], n), mask: uint64(n - 1)}
}

// slotsOf returns the two candidate slots of a key with hash h.
func (c *slotCache[K, V]) slotsOf(h uint64) (a, b *atomic.Pointer[cacheEntry[K, V]]) {
	return &c.slots[h&c.mask], &c.slots[(h>>32)&c.mask]
}

// get returns the value cached for key, whose hash is h.
func (c *slotCache[K, V]) get(h uint64, key K) (V, bool) {
	a, b := c.slotsOf(h)
	if e := a.Load(); e != nil && e.key == key {
		return e.val, true
	}
	if e := b.Load(); e != nil && e.key == key {
		return e.val, true
	}
	var zero V
	return zero, false
}

// put stores key → val in a free one of key's two slots, or else in the
// one picked by a hash bit, evicting its occupant. The key must not alias
// memory the caller reuses (copy request bytes first).
func (c *slotCache[K, V]) put(h uint64, key K, val V) {
	a, b := c.slotsOf(h)
	e := &cacheEntry[K, V]{key: key, val: val}
	switch ea, eb := a.Load(), b.Load(); {
	case ea == nil || ea.key == key:
		a.Store(e)
	case eb == nil || eb.key == key:
		b.Store(e)
	case h&(1<<31) != 0:
		b.Store(e)
	default:
		a.Store(e)
	}
}

// slotSeed keys the string hashes; per process, so slot collisions cannot
// be planned from outside.
var slotSeed = maphash.MakeSeed()

// slotHashStrings hashes a tuple of strings without allocating.
func slotHashStrings(ss ...string) uint64 {
	var h uint64 = 0x9e3779b97f4a7c15
	for _, s := range ss {
		h = splitmix.Mix64(h ^ maphash.String(slotSeed, s))
	}
	return h
}

// slotHashPrefix hashes a (truncated) network prefix.
func slotHashPrefix(p netip.Prefix) uint64 {
	a := p.Addr().As16()
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(a[i])
		lo = lo<<8 | uint64(a[8+i])
	}
	// Mixed, because the slot index is the hash's low bits.
	return splitmix.Mix64(hi ^ splitmix.Mix64(lo^uint64(p.Bits())))
}
