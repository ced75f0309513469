package collector

import (
	"net/netip"
	"testing"

	"github.com/mote-analytics/mote/enrich"
)

// TestRefusedHitEndsVisit: a hit the Sink refuses (503) was already
// counted by the session cache; the visit is then forgotten, so the
// visitor's next hit starts a visit (no cancel row) instead of cancelling
// a state that was never stored, and every update the Sink took is
// consistent with what it stored.
func TestRefusedHitEndsVisit(t *testing.T) {
	cfg := testConfig()
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg.Visitors = enrich.NewSaltKeeper(enrich.SaltConfig{Now: cfg.Now})
	cfg.Sessions = enrich.NewSessions(enrich.SessionConfig{})
	ts := startServer(t, cfg)
	const xff = "X-Forwarded-For: 198.51.100.23\r\n"
	ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2Fa", xff))
	ts.sink.setErr(errFull)
	if resp := ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2Fb", xff)); resp.StatusCode() != 503 {
		t.Fatalf("status %d, want 503", resp.StatusCode())
	}
	ts.sink.setErr(nil)
	ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2Fc", xff))
	got := ts.sink.stored()
	if len(got) != 2 {
		t.Fatalf("stored %d events, want 2", len(got))
	}
	// (The test clock is frozen, so both visits hash to the same session
	// ID: the updates below tell them apart.)
	ts.sink.mu.Lock()
	defer ts.sink.mu.Unlock()
	if ts.sink.updates != 2 || ts.sink.cancels != 0 || ts.sink.lastState.Version != 1 || ts.sink.lastState.Pageviews != 1 {
		t.Fatalf("sink took %d updates with %d cancels, last state %+v; want two first states", ts.sink.updates, ts.sink.cancels, ts.sink.lastState)
	}
}
