package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/enginetest"
)

const testPassword = "correct horse battery staple"

// authServer is statsServer with a password and an API key, a stand-in
// campaigns handler (only its guard is under test here) and a clock the
// test moves.
type authServer struct {
	base   string
	site   string
	apiKey string
	clock  *atomic.Int64 // Unix nanoseconds
	cfg    Config
	fx     enginetest.StatsFixture
}

func newAuthServer(t *testing.T) *authServer {
	t.Helper()
	eng, fx := seeded(t)
	old := loginFailDelay
	loginFailDelay = 0
	t.Cleanup(func() { loginFailDelay = old })
	hash, err := HashPassword(testPassword, 1000)
	if err != nil {
		t.Fatal(err)
	}
	key, keyHash := NewAPIKey()
	s := &authServer{site: fx.Site, apiKey: key, clock: new(atomic.Int64), fx: fx}
	s.clock.Store(fx.D.Add(3*time.Hour + 4*time.Minute).UnixNano())
	s.cfg = Config{
		Stats: eng, Sites: testSites(fx), Goals: testGoals(fx), Now: func() time.Time { return time.Unix(0, s.clock.Load()) },
		PasswordHash: hash, APIKeyHashes: []string{keyHash}, SessionTTL: time.Hour,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "mote_up 1\n") }),
		Campaigns: &Campaigns{DB: eng, // only the API's guard is under test here
			New: func(string, string, string, string, uint64) (storage.Campaign, error) {
				return storage.Campaign{}, errors.New("not in this test")
			},
			LinkPath:  func(storage.Campaign, string) (string, error) { return "", errors.New("not in this test") },
			PixelPath: func(storage.Campaign) string { return "" },
		},
	}
	s.base = startServer(t, s.cfg)
	return s
}

func (s *authServer) advance(d time.Duration) { s.clock.Add(int64(d)) }

// do sends a request with optional headers ("Cookie", "Authorization",
// "Origin", ...) without following redirects.
func (s *authServer) do(t *testing.T, method, path string, body io.Reader, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (s *authServer) login(t *testing.T, password string) *http.Response {
	t.Helper()
	resp, _ := s.do(t, "POST", "/login", strings.NewReader(url.Values{"password": {password}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	return resp
}

func (s *authServer) session(t *testing.T) string {
	t.Helper()
	resp := s.login(t, testPassword)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return sessionCookie + "=" + c.Value
		}
	}
	t.Fatal("login set no session cookie")
	return ""
}

func (s *authServer) aggregate(site string) string {
	return "/api/v1/stats/aggregate?" + url.Values{"site": {site}, "period": {"day"}, "metrics": {"visitors"}}.Encode()
}

func wantStatus(t *testing.T, label string, resp *http.Response, body string, code int) {
	t.Helper()
	if resp.StatusCode != code {
		t.Errorf("%s: %d %s, want %d", label, resp.StatusCode, body, code)
	}
}

func TestAuthRequired(t *testing.T) {
	s := newAuthServer(t)
	for _, p := range []string{s.aggregate(s.site), "/api/v1/sites", "/api/v1/stats/realtime?site=" + s.site,
		"/api/v1/share-links", "/api/v1/campaigns", "/api/v1/campaigns/x/report"} {
		resp, body := s.do(t, "GET", p, nil)
		wantStatus(t, "no auth "+p, resp, body, 401)
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", p)
		}
		if strings.Contains(body, `"visitors"`) {
			t.Errorf("%s: 401 leaks data: %s", p, body)
		}
	}
	resp, body := s.do(t, "POST", "/api/v1/campaigns", strings.NewReader(`{}`))
	wantStatus(t, "no auth POST campaigns", resp, body, 401)
	// Monitoring and the page shell stay open.
	for _, p := range []string{"/metrics", "/healthz", "/", "/ui/app.js", "/login"} {
		resp, body := s.do(t, "GET", p, nil)
		wantStatus(t, "open "+p, resp, body, 200)
	}
}

func TestLogin(t *testing.T) {
	s := newAuthServer(t)
	// A wrong password: 401, the form again, no cookie.
	resp := s.login(t, "hunter2")
	if resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("wrong password: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	resp = s.login(t, "")
	if resp.StatusCode != 401 {
		t.Errorf("empty password: %d", resp.StatusCode)
	}
	// The right one: a session cookie for the dashboard only.
	resp = s.login(t, testPassword)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := resp.Cookies()[0]
	if c.Name != sessionCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" || len(c.Value) < 43 {
		t.Errorf("cookie %+v", c)
	}
	cookie := "Cookie"
	r, body := s.do(t, "GET", s.aggregate(s.site), nil, cookie, sessionCookie+"="+c.Value)
	wantStatus(t, "session", r, body, 200)
	r, body = s.do(t, "GET", "/api/v1/campaigns", nil, cookie, sessionCookie+"="+c.Value)
	wantStatus(t, "session campaigns", r, body, 200)
	// A made-up session id is nobody.
	r, body = s.do(t, "GET", s.aggregate(s.site), nil, cookie, sessionCookie+"=forged")
	wantStatus(t, "forged session", r, body, 401)

	// Expired: the TTL is an hour.
	s.advance(59 * time.Minute)
	r, body = s.do(t, "GET", s.aggregate(s.site), nil, cookie, sessionCookie+"="+c.Value)
	wantStatus(t, "session at 59 min", r, body, 200)
	s.advance(2 * time.Minute)
	r, body = s.do(t, "GET", s.aggregate(s.site), nil, cookie, sessionCookie+"="+c.Value)
	wantStatus(t, "expired session", r, body, 401)

	// Logout ends the session at once.
	sess := s.session(t)
	r, _ = s.do(t, "POST", "/logout", nil, cookie, sess)
	if r.StatusCode != http.StatusSeeOther || r.Cookies()[0].MaxAge >= 0 {
		t.Errorf("logout: %d %v", r.StatusCode, r.Cookies())
	}
	r, body = s.do(t, "GET", s.aggregate(s.site), nil, cookie, sess)
	wantStatus(t, "after logout", r, body, 401)

	// A login form posted from another site is refused.
	r, body = s.do(t, "POST", "/login", strings.NewReader("password="+url.QueryEscape(testPassword)),
		"Content-Type", "application/x-www-form-urlencoded", "Origin", "https://evil.example")
	wantStatus(t, "cross-origin login", r, body, 403)
	// So is a cookie-borne change from another origin.
	r, body = s.do(t, "POST", "/api/v1/share-links", strings.NewReader(`{"site":"shop"}`), cookie, s.session(t), "Origin", "https://evil.example")
	wantStatus(t, "cross-origin share link", r, body, 403)
	// Where the browser says where a request comes from (Sec-Fetch-Site),
	// that decides: this origin, or the user's own action (a bookmark, the
	// address bar), and nothing else.
	for site, want := range map[string]int{"same-origin": 201, "none": 201, "same-site": 403, "cross-site": 403} {
		r, body = s.do(t, "POST", "/api/v1/share-links", strings.NewReader(`{"site":"shop"}`), cookie, s.session(t), "Sec-Fetch-Site", site)
		wantStatus(t, "share link with Sec-Fetch-Site "+site, r, body, want)
	}
}

func TestLoginAttemptLimit(t *testing.T) {
	s := newAuthServer(t)
	for i := range loginMaxPerAddr {
		if resp := s.login(t, "guess"); resp.StatusCode != 401 {
			t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	// Blocked, even with the right password, until the window ends.
	if resp := s.login(t, testPassword); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("after %d failures: %d", loginMaxPerAddr, resp.StatusCode)
	}
	s.advance(loginWindow)
	if resp := s.login(t, testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the window: %d", resp.StatusCode)
	}
}

func TestSecureCookie(t *testing.T) {
	s := newAuthServer(t)
	cfg := s.cfg
	cfg.CookieSecure = true
	s.base = startServer(t, cfg)
	if c := s.login(t, testPassword).Cookies(); len(c) != 1 || !c[0].Secure {
		t.Errorf("cookie_secure: %v", c)
	}
}

func TestBearerKey(t *testing.T) {
	s := newAuthServer(t)
	r, body := s.do(t, "GET", s.aggregate(s.site), nil, "Authorization", "Bearer "+s.apiKey)
	wantStatus(t, "bearer", r, body, 200)
	r, body = s.do(t, "GET", "/api/v1/campaigns", nil, "Authorization", "Bearer "+s.apiKey)
	wantStatus(t, "bearer campaigns", r, body, 200)
	r, body = s.do(t, "GET", s.aggregate(s.site), nil, "Authorization", "Bearer "+s.apiKey+"x")
	wantStatus(t, "wrong bearer", r, body, 401)
	r, body = s.do(t, "GET", s.aggregate(s.site), nil, "Authorization", "Basic "+s.apiKey)
	wantStatus(t, "not bearer", r, body, 401)
	// A wrong key is refused even beside a good session.
	r, body = s.do(t, "GET", s.aggregate(s.site), nil, "Authorization", "Bearer nope", "Cookie", s.session(t))
	wantStatus(t, "wrong bearer with session", r, body, 401)
}

func TestShareLinks(t *testing.T) {
	s := newAuthServer(t)
	sess := s.session(t)
	create := func(site string) (*http.Response, shareJSON) {
		t.Helper()
		r, body := s.do(t, "POST", "/api/v1/share-links", strings.NewReader(`{"site":"`+site+`","label":"board"}`),
			"Cookie", sess, "Content-Type", "application/json")
		var out shareJSON
		_ = json.Unmarshal([]byte(body), &out)
		return r, out
	}
	r, link := create(s.site)
	if r.StatusCode != 201 || link.Key == "" || link.ID == "" || link.Path != SharePath(s.site, link.Key) {
		t.Fatalf("create: %d %+v", r.StatusCode, link)
	}
	if r, _ := create("nope"); r.StatusCode != 400 {
		t.Errorf("create for an unknown site: %d", r.StatusCode)
	}
	auth := func(p string) string {
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		return p + sep + "auth=" + url.QueryEscape(link.Key)
	}
	// The link reads its site.
	r, body := s.do(t, "GET", auth(s.aggregate(s.site)), nil)
	wantStatus(t, "share link", r, body, 200)
	if !strings.Contains(body, `"visitors":{"value":4}`) {
		t.Errorf("share link numbers: %s", body)
	}
	r, body = s.do(t, "GET", auth("/api/v1/sites"), nil)
	if r.StatusCode != 200 || !strings.Contains(body, `"id":"shop"`) || strings.Contains(body, `"empty"`) {
		t.Errorf("share link sites: %d %s", r.StatusCode, body)
	}
	// Only its site.
	r, body = s.do(t, "GET", auth(s.aggregate("empty")), nil)
	wantStatus(t, "share link on another site", r, body, 404)
	// Read-only: no admin API, no writes.
	r, body = s.do(t, "GET", auth("/api/v1/campaigns"), nil)
	wantStatus(t, "share link campaigns", r, body, 403)
	r, body = s.do(t, "POST", auth("/api/v1/share-links"), strings.NewReader(`{"site":"shop"}`))
	wantStatus(t, "share link making links", r, body, 403)
	r, body = s.do(t, "DELETE", auth("/api/v1/share-links/"+link.ID), nil)
	wantStatus(t, "share link revoking", r, body, 403)
	r, body = s.do(t, "GET", s.aggregate(s.site)+"&auth=not-a-key", nil)
	wantStatus(t, "unknown share key", r, body, 401)

	// Listed without its key.
	r, body = s.do(t, "GET", "/api/v1/share-links?site="+s.site, nil, "Authorization", "Bearer "+s.apiKey)
	if r.StatusCode != 200 || !strings.Contains(body, link.ID) || strings.Contains(body, link.Key) || strings.Contains(body, shareKeyHash(link.Key)) {
		t.Errorf("list: %d %s", r.StatusCode, body)
	}
	// Revoked: refused at once.
	r, body = s.do(t, "DELETE", "/api/v1/share-links/"+link.ID, nil, "Cookie", sess)
	if r.StatusCode != 200 || !strings.Contains(body, `"revoked":true`) {
		t.Errorf("revoke: %d %s", r.StatusCode, body)
	}
	r, body = s.do(t, "GET", auth(s.aggregate(s.site)), nil)
	wantStatus(t, "revoked share link", r, body, 401)
	r, body = s.do(t, "DELETE", "/api/v1/share-links/no-such-link", nil, "Cookie", sess)
	wantStatus(t, "revoke unknown", r, body, 404)
}

// TestNoPasswordLoopbackOnly: without a password the listener answers
// loopback clients as the admin and refuses everyone else.
func TestNoPasswordLoopbackOnly(t *testing.T) {
	eng, fx := seeded(t)
	srv := New(Config{Stats: eng, Sites: testSites(fx)})
	f := func(remote string, code int) {
		t.Helper()
		req := httptest.NewRequest("GET", "/api/v1/sites", nil)
		req.RemoteAddr, req.Host = remote, "localhost:8081"

		rec := httptest.NewRecorder()
		srv.http.Handler.ServeHTTP(rec, req)
		if rec.Code != code {
			t.Errorf("from %s: %d %s, want %d", remote, rec.Code, rec.Body, code)
		}
	}
	f("127.0.0.1:5000", 200)
	f("[::1]:5000", 200)
	f("192.0.2.7:5000", 401)
	f("[2001:db8::1]:5000", 401)
	// Logging in is not possible: there is no password.
	req := httptest.NewRequest("POST", "/login", bytes.NewReader([]byte("password=x")))
	req.Host = "127.0.0.1:8081"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	srv.http.Handler.ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Errorf("login without a password: %d", rec.Code)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("pw", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "pbkdf2-sha256$1000$") || ParsePasswordHash(h) != nil {
		t.Fatalf("hash %q", h)
	}
	p, _ := parsePasswordHash(h)
	if !p.check("pw") || p.check("pW") || p.check("") {
		t.Error("check")
	}
	if h2, _ := HashPassword("pw", 1000); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "pw", "pbkdf2-sha256$10$AAAAAAAAAAA$AAAA", "sha1$1000$x$y", strings.Replace(h, "$1000$", "$x$", 1), h + "$"} {
		if err := ParsePasswordHash(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("error repeats the hash: %v", err)
		}
	}
	key, kh := NewAPIKey()
	if ParseAPIKeyHash(kh) != nil || ParseAPIKeyHash("sha256$00") == nil || HashAPIKey(key) != kh {
		t.Errorf("api key hash %q", kh)
	}
}

// TestShareLinkIDs: a share link's public id is 18 hex digits (72 random
// bits), so it never starts with '-' and reads as a flag on the command
// line, and the key is a fresh 32-byte token.
func TestShareLinkIDs(t *testing.T) {
	hexID := regexp.MustCompile(`^[0-9a-f]{18}$`)
	seen := map[string]bool{}
	for range 1000 {
		l, key := NewShareLink("shop", "", time.Unix(0, 0))
		if !hexID.MatchString(l.ID) || seen[l.ID] {
			t.Fatalf("id %q: not 18 hex digits, or seen before", l.ID)
		}
		seen[l.ID] = true
		if len(key) != 43 || l.KeyHash != shareKeyHash(key) || strings.Contains(l.KeyHash, key) {
			t.Fatalf("key %q, hash %q", key, l.KeyHash)
		}
	}
}
