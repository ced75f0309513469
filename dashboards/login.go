package dashboards

import (
	"html/template"
	"net/http"
	"net/netip"
	"time"
)

// loginFailDelay is added to every failed login, so that guessing is slow
// even below the per-client limit (tests shorten it).
var loginFailDelay = 500 * time.Millisecond

func clientAddr(r *http.Request) netip.Addr {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return ap.Addr().Unmap()
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
	if !a.logins.take(addr, a.now()) {
		w.Header().Set("Retry-After", "60")
		showLoginPage(w, http.StatusTooManyRequests, "Too many login attempts: wait a minute.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	pw := r.PostFormValue("password")
	// An empty password takes the full check too: its answer must not
	// come sooner than a wrong one's.
	a.logins.check <- struct{}{}
	ok := a.password.check(pw) && pw != "" && !a.badPassword
	<-a.logins.check
	if !ok {
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
