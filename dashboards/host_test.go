package dashboards

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHostRebinding: a page that rebinds its own name to 127.0.0.1 sends
// that name in Host. Without a password the listener answers only
// loopback names and the configured ones; with a password and a list,
// only the list; with a password and no list, any name.
func TestHostRebinding(t *testing.T) {
	eng, fx := seeded(t)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "mote_up 1\n") })
	serve := func(cfg Config, method, path, host string, headers ...string) *httptest.ResponseRecorder {
		t.Helper()
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(`{"site":"` + fx.Site + `","label":"x"}`)
		}
		req := httptest.NewRequest(method, path, body)
		req.RemoteAddr = "127.0.0.1:5000"
		req.Host = host
		for i := 0; i < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		New(cfg).http.Handler.ServeHTTP(rec, req)
		return rec
	}
	open := Config{Stats: eng, Sites: testSites(fx), Metrics: metrics, AllowedHosts: []string{"Stats.Internal"}}
	f := func(cfg Config, label, method, path, host string, code int, headers ...string) {
		t.Helper()
		if rec := serve(cfg, method, path, host, headers...); rec.Code != code {
			t.Errorf("%s: %s %s with Host %q: %d %s, want %d", label, method, path, host, rec.Code, rec.Body, code)
		}
	}
	agg := "/api/v1/stats/aggregate?site=" + fx.Site + "&period=day"
	const evil = "rebind.attacker.example"
	// The probe's reproduction: statistics and a share link (with its key)
	// under the attacker's name.
	f(open, "open", "GET", agg, evil+":8081", 421)
	f(open, "open", "POST", "/api/v1/share-links", evil+":8081", 421,
		"Origin", "http://"+evil+":8081", "Sec-Fetch-Site", "same-origin", "Content-Type", "application/json")
	f(open, "open", "GET", "/", evil, 421)
	f(open, "open", "GET", "/ui/app.js", evil, 421)
	for _, h := range []string{"localhost:8081", "LOCALHOST", "127.0.0.1:8081", "127.0.0.2", "[::1]:8081", "[::1]", "stats.internal:8081"} {
		f(open, "open", "GET", agg, h, 200)
	}
	for _, h := range []string{"localhost.", "a.localhost", "localhost.attacker.example", "127.0.0.1.nip.io", "10.0.0.1:8081", "", "user@localhost"} {
		f(open, "open", "GET", agg, h, 421)
	}
	// Monitoring answers under any name.
	f(open, "open", "GET", "/metrics", evil, 200)
	f(open, "open", "GET", "/healthz", "10.0.0.1:8081", 200)

	hash, err := HashPassword(testPassword, 1000)
	if err != nil {
		t.Fatal(err)
	}
	key, keyHash := NewAPIKey()
	bearer := []string{"Authorization", "Bearer " + key}
	locked := Config{Stats: eng, Sites: testSites(fx), PasswordHash: hash, APIKeyHashes: []string{keyHash}}
	f(locked, "password, no list", "GET", agg, "stats.example.com", 200, bearer...)
	f(locked, "password, no list", "GET", agg, evil, 200, bearer...)
	locked.AllowedHosts = []string{"stats.example.com"}
	f(locked, "password, list", "GET", agg, "stats.example.com:443", 200, bearer...)
	f(locked, "password, list", "GET", agg, evil, 421, bearer...)
	f(locked, "password, list", "GET", agg, "localhost", 421, bearer...)
}
