package dashboards

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// loginHandler is an admin server with a password of the given cost and
// no store: only its login route is under test.
func loginHandler(t *testing.T, iterations int, delay time.Duration) http.Handler {
	t.Helper()
	old := loginFailDelay
	loginFailDelay = delay
	t.Cleanup(func() { loginFailDelay = old })
	hash, err := HashPassword(testPassword, iterations)
	if err != nil {
		t.Fatal(err)
	}
	// A frozen clock: the limits are per minute, and a slow run (the
	// race detector makes the flood below take minutes) must not see
	// its window end.
	now := time.Now()
	return New(Config{PasswordHash: hash, Now: func() time.Time { return now }}).http.Handler
}

// postLogin posts password from remote (host:port) and returns the code.
func postLogin(h http.Handler, remote, password string) int {
	req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// TestLoginParallelGuesses: attempts are counted when they arrive, so
// 40 parallel wrong passwords from one address get at most 5 password
// checks (401); the rest are 429 without one. Counting after the check
// let all 40 through.
func TestLoginParallelGuesses(t *testing.T) {
	h := loginHandler(t, 50_000, 0)
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := postLogin(h, "198.51.100.7:4000", "guess")
			mu.Lock()
			codes[c]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[401] != loginMaxPerAddr || codes[429] != 40-loginMaxPerAddr {
		t.Errorf("40 parallel wrong passwords: %v, want %d×401 and the rest 429", codes, loginMaxPerAddr)
	}
}

// TestLoginTableFlood: logins from thousands of other networks (more
// than the table holds) do not unblock a locked-out address, and one
// network's addresses share a limit.
func TestLoginTableFlood(t *testing.T) {
	h := loginHandler(t, 1000, 0)
	const locked = "198.51.100.7:4000"
	for i := range loginMaxPerAddr {
		if c := postLogin(h, locked, "guess"); c != 401 {
			t.Fatalf("attempt %d: %d", i+1, c)
		}
	}
	for i := range loginTableSize + 10 {
		remote := fmt.Sprintf("10.%d.%d.1:4000", i/256, i%256) // one /24 each
		if c := postLogin(h, remote, ""); c != 401 {
			t.Fatalf("flood login %d from its own network: %d, want 401", i, c)
		}
	}
	if c := postLogin(h, locked, testPassword); c != 429 {
		t.Errorf("locked address after the flood: %d, want 429", c)
	}
	// One IPv6 /64 is one network: past its limit every address in it
	// waits, new ones included.
	n401 := 0
	for i := range 3 * loginMaxPerNet {
		if postLogin(h, fmt.Sprintf("[2001:db8:1:2::%x]:4000", i+1), "") == 401 {
			n401++
		}
	}
	if n401 != loginMaxPerNet {
		t.Errorf("one /64: %d password checks, want %d", n401, loginMaxPerNet)
	}
	if c := postLogin(h, "[2001:db8:1:2::ffff]:4000", testPassword); c != 429 {
		t.Errorf("a fresh address of a blocked /64: %d, want 429", c)
	}
	if c := postLogin(h, "[2001:db8:1:3::1]:4000", testPassword); c != http.StatusSeeOther {
		t.Errorf("the next /64: %d, want 303", c)
	}
}

// TestLoginEmptyPasswordCost: an empty password is checked like any
// other, so it is not a cheap way to fill the limiter nor answered
// sooner than a wrong one.
func TestLoginEmptyPasswordCost(t *testing.T) {
	h := loginHandler(t, 200_000, 0)
	timed := func(remote, pw string) time.Duration {
		start := time.Now()
		if c := postLogin(h, remote, pw); c != 401 {
			t.Fatalf("%q: %d", pw, c)
		}
		return time.Since(start)
	}
	wrong := min(timed("192.0.2.1:1", "guess"), timed("192.0.2.2:1", "guess"))
	empty := min(timed("192.0.2.3:1", ""), timed("192.0.2.4:1", ""))
	if empty < wrong/2 {
		t.Errorf("empty password answered in %v, a wrong one in %v", empty, wrong)
	}
}

// TestLoginLimiterBound: a table full of blocked entries keeps them all
// and refuses newcomers until the window ends.
func TestLoginLimiterBound(t *testing.T) {
	l := newLoginLimiter()
	l.size = 5
	now := time.Unix(1_700_000_000, 0)
	// Four addresses of one /24, each blocked, and so their network too:
	// five entries, all blocked.
	blocked := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}
	for _, a := range blocked {
		for range loginMaxPerAddr {
			if !l.take(netip.MustParseAddr(a), now) {
				t.Fatalf("%s refused early", a)
			}
		}
	}
	if l.take(netip.MustParseAddr("10.0.0.1"), now) {
		t.Error("a newcomer got in while every entry is blocked")
	}
	for _, a := range blocked {
		if l.take(netip.MustParseAddr(a), now.Add(time.Second)) {
			t.Errorf("%s unblocked by a full table", a)
		}
	}
	// After the window everything expires and there is room again.
	if !l.take(netip.MustParseAddr("10.0.0.1"), now.Add(loginWindow)) {
		t.Error("no room after the window")
	}
	// Making room swept every expired entry at once, not one at a time:
	// the table holds the newcomer's address and network only.
	if len(l.entries) != 2 {
		t.Errorf("%d entries after the window, want the newcomer's 2", len(l.entries))
	}
}
