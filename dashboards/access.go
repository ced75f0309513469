package dashboards

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// Who may read what on the admin listener:
//
//   - the admin: a session cookie from POST /login, or an API key sent as
//     "Authorization: Bearer KEY", may use every route;
//   - a share link's key (query parameter auth=KEY) reads the stats API of
//     its one site, with GET only;
//   - with no password configured, a client on a loopback address is the
//     admin without logging in, and everyone else is refused. That keeps
//     a fresh install usable on the machine it runs on without opening it
//     to the network; serve says so in its log at start.
//
// /metrics, /healthz and the dashboard's static files (no data in them)
// stay open: monitoring must not need a login, and the page must load to
// show its login form.

// sessionCookie names the dashboard's session cookie.
const sessionCookie = "mote_session"

// DefaultSessionTTL is how long a login lasts.
const DefaultSessionTTL = 12 * time.Hour

// shareRefresh bounds how long a share link revoked by another process
// (mote share revoke on a ClickHouse server) keeps working here.
const shareRefresh = 10 * time.Second

// scopeKey carries the site a request is limited to (a share link's
// site); requests without it may read every site.
type scopeKey struct{}

func withScope(ctx context.Context, site string) context.Context {
	return context.WithValue(ctx, scopeKey{}, site)
}

// allowed reports whether r may read site id.
func allowed(r *http.Request, id string) bool {
	scope, ok := r.Context().Value(scopeKey{}).(string)
	return !ok || scope == id
}

// access holds the credentials and the login state of one server.
type access struct {
	password    *passwordHash // nil: no password configured
	badPassword bool          // configured but unparsable: nobody logs in
	apiKeys     [][]byte      // SHA-256 of each accepted key
	secure      bool
	ttl         time.Duration
	now         func() time.Time

	mu       sync.Mutex
	sessions map[string]time.Time // id → expiry

	shares *shareCache // nil without storage
	logins *loginLimiter
}

func newAccess(cfg Config, now func() time.Time) *access {
	a := &access{secure: cfg.CookieSecure, ttl: cfg.SessionTTL, now: now, sessions: map[string]time.Time{}, logins: newLoginLimiter()}
	if a.ttl <= 0 {
		a.ttl = DefaultSessionTTL
	}
	if cfg.PasswordHash != "" {
		h, err := parsePasswordHash(cfg.PasswordHash)
		if err != nil {
			a.badPassword = true // fail closed; cmd validates before this
		}
		a.password = &h
	}
	for _, k := range cfg.APIKeyHashes {
		if sum, err := parseAPIKeyHash(k); err == nil {
			a.apiKeys = append(a.apiKeys, sum)
		}
	}
	if cfg.Stats != nil {
		a.shares = &shareCache{db: storage.NewShareLinks(cfg.Stats), now: now}
	}
	return a
}

// open reports whether the listener runs without a password.
func (a *access) open() bool { return a.password == nil }

// verdict is what the credentials of a request allow.
type verdict int

const (
	denied verdict = iota
	shared         // one site, read-only (scope set)
	admin
)

// identify reads r's credentials. err is a storage failure while
// checking a share key.
func (a *access) identify(r *http.Request) (verdict, string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		key, ok := strings.CutPrefix(h, "Bearer ")
		if ok && a.apiKey(key) {
			return admin, "", nil
		}
		return denied, "", nil // a wrong key is not retried as something else
	}
	if c, err := r.Cookie(sessionCookie); err == nil && a.session(c.Value) {
		return admin, "", nil
	}
	if key := r.URL.Query().Get("auth"); key != "" && a.shares != nil {
		l, ok, err := a.shares.lookup(r.Context(), key)
		if err != nil || !ok {
			return denied, "", err
		}
		return shared, l.SiteID, nil
	}
	if a.open() && loopback(r) {
		return admin, "", nil
	}
	return denied, "", nil
}

func (a *access) apiKey(key string) bool {
	sum := sha256.Sum256([]byte(key))
	found := 0
	for _, k := range a.apiKeys {
		found |= subtle.ConstantTimeCompare(sum[:], k)
	}
	return found == 1
}

func loopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// deny answers a request without the credentials it needs.
func (a *access) deny(w http.ResponseWriter, v verdict) {
	if v == shared {
		writeError(w, http.StatusForbidden, "a share link reads its own site's statistics only")
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="mote"`)
	msg := "login required (a session, an API key as Bearer, or a share link's auth key)"
	if a.open() {
		msg = "this admin listener has no password, so it answers loopback clients only: set admin.password_hash (see mote admin hash-password)"
	}
	writeError(w, http.StatusUnauthorized, msg)
}

// stats guards a stats API route: the admin, or a share link (read-only,
// limited to its site through the request's scope).
func (a *access) stats(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, site, err := a.identify(r)
		switch {
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "storage unavailable: cannot check the share link")
		case v == admin:
			h(w, r)
		case v == shared && r.Method == http.MethodGet:
			h(w, r.WithContext(withScope(r.Context(), site)))
		default:
			a.deny(w, v)
		}
	}
}

// admin guards a route only the admin may use. A cookie-borne request
// that changes something must come from this origin (SameSite=Strict
// already stops other sites; this also covers older browsers).
func (a *access) admin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _, err := a.identify(r)
		switch {
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "storage unavailable: cannot check the share link")
		case v != admin:
			a.deny(w, v)
		case r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r):
			writeError(w, http.StatusForbidden, "cross-origin request refused")
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// sameOrigin: the browser says the request comes from this origin
// (Sec-Fetch-Site), or, from browsers without it, the Origin header names
// this host. Pages here send no referrer, so a same-origin form post
// carries "Origin: null"; that and no Origin at all (not a browser) pass.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true
	}
	_, host, ok := strings.Cut(o, "://")
	return ok && host == r.Host
}

// newSession starts a session and returns its id.
func (a *access) newSession() string {
	id := randomToken()
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.sessions) >= 10_000 {
		for k, exp := range a.sessions {
			if !now.Before(exp) {
				delete(a.sessions, k)
			}
		}
	}
	a.sessions[id] = now.Add(a.ttl)
	return id
}

// session reports whether id is a live session; an expired one is
// forgotten.
func (a *access) session(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.sessions[id]
	if ok && !a.now().Before(exp) {
		delete(a.sessions, id)
		return false
	}
	return ok
}

func (a *access) endSession(id string) {
	a.mu.Lock()
	delete(a.sessions, id)
	a.mu.Unlock()
}

// shareCache holds the active share links by key hash, reloaded from
// storage at most every shareRefresh (and at once after a change made
// through this server).
type shareCache struct {
	db  *storage.ShareLinks
	now func() time.Time

	mu     sync.Mutex
	loaded time.Time
	byHash map[string]storage.ShareLink
}

func shareKeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func (c *shareCache) lookup(ctx context.Context, key string) (storage.ShareLink, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byHash == nil || c.now().Sub(c.loaded) >= shareRefresh || c.now().Before(c.loaded) {
		all, err := c.db.List(ctx)
		if err != nil {
			return storage.ShareLink{}, false, err
		}
		c.byHash = map[string]storage.ShareLink{}
		for _, l := range all {
			if !l.Revoked {
				c.byHash[l.KeyHash] = l
			}
		}
		c.loaded = c.now()
	}
	l, ok := c.byHash[shareKeyHash(key)]
	return l, ok, nil
}

// invalidate makes the next lookup reload.
func (c *shareCache) invalidate() {
	c.mu.Lock()
	c.byHash = nil
	c.mu.Unlock()
}
