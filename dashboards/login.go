package dashboards

import (
	"html/template"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// loginFailDelay is added to every failed login, so that guessing is slow
// even below the per-client limit (tests shorten it).
var loginFailDelay = 500 * time.Millisecond

// Per client address, at most loginMaxFailures failed logins per
// loginWindow; past that, 429 until the window ends. The addresses live
// in memory only, for the window.
const (
	loginMaxFailures = 5
	loginWindow      = time.Minute
)

// loginLimiter counts failed logins per client address, and lets one
// password check run at a time (PBKDF2 is meant to be costly: a flood of
// attempts must not take every core).
type loginLimiter struct {
	mu    sync.Mutex
	fails map[netip.Addr]*failures
	check chan struct{}
}

type failures struct {
	n     int
	since time.Time
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{fails: map[netip.Addr]*failures{}, check: make(chan struct{}, 1)}
}

func clientAddr(r *http.Request) netip.Addr {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return ap.Addr().Unmap()
}

func (l *loginLimiter) blocked(addr netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[addr]
	if f != nil && now.Sub(f.since) >= loginWindow {
		delete(l.fails, addr)
		return false
	}
	return f != nil && f.n >= loginMaxFailures
}

func (l *loginLimiter) failed(addr netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) >= 4096 { // bounded: forget everyone rather than grow
		clear(l.fails)
	}
	f := l.fails[addr]
	if f == nil {
		f = &failures{since: now}
		l.fails[addr] = f
	}
	f.n++
}

func (l *loginLimiter) succeeded(addr netip.Addr) {
	l.mu.Lock()
	delete(l.fails, addr)
	l.mu.Unlock()
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mote: log in</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/style.css"></head>
<body><form class="login" method="post" action="/login"><h1>Mote</h1>
{{if .}}<p class="error" id="login-error">{{.}}</p>{{end}}
<label for="password">Admin password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button></form></body></html>
`))

func showLoginPage(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = loginPage.Execute(w, msg)
}

// handleLogin checks the password posted by the login form (field
// "password") and starts a session: 303 to the dashboard with the
// cookie, or 401 with the form again.
func (a *access) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	if a.open() {
		showLoginPage(w, http.StatusNotFound, "No admin password is configured: this listener answers loopback clients without a login.")
		return
	}
	addr := clientAddr(r)
	if a.logins.blocked(addr, a.now()) {
		w.Header().Set("Retry-After", "60")
		showLoginPage(w, http.StatusTooManyRequests, "Too many failed attempts: wait a minute.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	pw := r.PostFormValue("password")
	a.logins.check <- struct{}{}
	ok := pw != "" && !a.badPassword && a.password.check(pw)
	<-a.logins.check
	if !ok {
		a.logins.failed(addr, a.now())
		time.Sleep(loginFailDelay)
		showLoginPage(w, http.StatusUnauthorized, "Wrong password.")
		return
	}
	a.logins.succeeded(addr)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: a.newSession(), Path: "/", MaxAge: int(a.ttl / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.secure || r.TLS != nil,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// handleLogout ends the session and clears the cookie.
func (a *access) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		a.endSession(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.secure || r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *access) routes(mux *http.ServeMux) {
	mux.Handle("GET /login", secure(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		showLoginPage(w, http.StatusOK, "")
	})))
	mux.Handle("POST /login", secure(http.HandlerFunc(a.handleLogin)))
	mux.Handle("POST /logout", secure(http.HandlerFunc(a.handleLogout)))
}
