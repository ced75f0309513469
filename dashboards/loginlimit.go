package dashboards

import (
	"net/netip"
	"sync"
	"time"
)

// Login attempts are limited per client address and per client network
// (IPv4 /24, IPv6 /64: what one household, office or cloud host holds),
// within a fixed window from each key's first attempt. An attempt is
// counted when it arrives, before the password is read, so parallel
// requests cannot all reach the check before the first failure is
// recorded; a success gives its attempt back.
const (
	loginMaxPerAddr = 5
	loginMaxPerNet  = 20
	loginWindow     = time.Minute
	// loginTableSize bounds the memory of the table (keys are addresses
	// and networks, about 100 bytes an entry).
	loginTableSize = 4096
)

// loginLimiter counts login attempts, and lets one password check run at
// a time (PBKDF2 is meant to be costly: a flood of attempts must not take
// every core).
//
// The table is bounded without ever forgetting a blocked key before its
// window ends: when it is full, expired entries go first, then the
// oldest entry that is not blocked (forgetting it only returns a few
// attempts to that key, and each eviction costs the attacker an attempt
// of their own). When every entry is blocked and live, a client not in
// the table is refused (429) until windows end: filling the table takes
// over 800 networks each spending its attempts in one minute, and then
// logins wait while sessions and API keys keep working. Flooding can
// therefore delay the admin's login, never unblock a guesser.
type loginLimiter struct {
	mu      sync.Mutex
	entries map[netip.Prefix]*attempts
	size    int
	check   chan struct{}
}

type attempts struct {
	n     int
	since time.Time
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{entries: map[netip.Prefix]*attempts{}, size: loginTableSize, check: make(chan struct{}, 1)}
}

// loginKeys returns the address's own key and its network's.
func loginKeys(addr netip.Addr) (netip.Prefix, netip.Prefix) {
	addr = addr.Unmap()
	bits := 64
	if addr.Is4() {
		bits = 24
	}
	network, _ := addr.Prefix(bits)
	return netip.PrefixFrom(addr, addr.BitLen()), network
}

func limitOf(key netip.Prefix) int {
	if key.Bits() == key.Addr().BitLen() {
		return loginMaxPerAddr
	}
	return loginMaxPerNet
}

func (e *attempts) live(now time.Time) bool {
	return now.Sub(e.since) < loginWindow && !now.Before(e.since)
}

func (l *loginLimiter) blocked(key netip.Prefix, e *attempts, now time.Time) bool {
	return e.live(now) && e.n >= limitOf(key)
}

// take counts one attempt from addr and reports whether it may go on to
// the password check.
func (l *loginLimiter) take(addr netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := [2]netip.Prefix{}
	keys[0], keys[1] = loginKeys(addr)
	var es [2]*attempts
	for i, k := range keys {
		e := l.entries[k]
		if e != nil && !e.live(now) {
			e.n, e.since = 0, now
		}
		if e != nil && e.n >= limitOf(k) {
			return false
		}
		es[i] = e
	}
	for i, k := range keys {
		if es[i] == nil {
			if !l.makeRoom(now, keys) {
				return false
			}
			es[i] = &attempts{since: now}
			l.entries[k] = es[i]
		}
	}
	es[0].n++
	es[1].n++
	return true
}

// makeRoom frees a slot when the table is full, never by dropping a
// blocked entry or one of keep (the attempt's own); false when it cannot.
func (l *loginLimiter) makeRoom(now time.Time, keep [2]netip.Prefix) bool {
	if len(l.entries) < l.size {
		return true
	}
	var oldest netip.Prefix
	var oldestSince time.Time
	for k, e := range l.entries {
		switch {
		case !e.live(now) && k != keep[0] && k != keep[1]:
			delete(l.entries, k)
		case k == keep[0] || k == keep[1] || l.blocked(k, e, now):
		case !oldest.IsValid() || e.since.Before(oldestSince):
			oldest, oldestSince = k, e.since
		}
	}
	if len(l.entries) < l.size {
		return true
	}
	if !oldest.IsValid() {
		return false
	}
	delete(l.entries, oldest)
	return true
}

// succeeded forgets addr's attempts and gives its network the attempt
// back: a right password is not a guess.
func (l *loginLimiter) succeeded(addr netip.Addr) {
	a, network := loginKeys(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, a)
	if e := l.entries[network]; e != nil && e.n > 0 {
		e.n--
	}
}
