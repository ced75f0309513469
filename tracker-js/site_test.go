package trackerjs

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// startSite serves the end-to-end test's web site on a loopback port and
// returns its base URL, http://localhost:PORT. Every answer carries a
// strict Content-Security-Policy: scripts, images and connections only from
// the site itself and the collector, no inline script or style, no eval.
// Its own scripts live in files, as a site under such a policy must have
// them.
func startSite(t *testing.T, collector string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	csp := fmt.Sprintf("default-src 'none'; script-src 'self' %[1]s; connect-src 'self' %[1]s; "+
		"img-src 'self' %[1]s; style-src 'self'; base-uri 'none'; form-action 'none'", collector)
	tracker := func(attrs string) string {
		return `<script defer ` + attrs + ` src="` + collector + `/m.js"></script>`
	}
	page := func(title, head, body string) string {
		return `<!doctype html><html><head><meta charset="utf-8"><title>` + title + `</title>
<link rel="stylesheet" href="/site.css">` + head + `</head><body>` + body + `</body></html>`
	}
	home := page("home", `<script src="/stub.js"></script>`+tracker(`data-site="shop"`),
		`<h1>Shop</h1>
<a id="download" href="/files/report.pdf?sig=secret" download>report</a>
<a id="out" href="http://127.0.0.1:`+fmt.Sprint(port)+`/away?token=secret">elsewhere</a>`)
	pages := map[string]struct {
		status      int
		contentType string
		body        string
	}{
		"/":            {200, "text/html", home},
		"/private/dnt": {200, "text/html", home},
		"/private/gpc": {200, "text/html", home},
		"/optout":      {200, "text/html", home},
		"/away":        {200, "text/html", page("away", "", "<p>no tracker here</p>")},
		"/app": {200, "text/html", page("app", `<script defer src="/app.js"></script>`+tracker(`data-site="shop"`),
			`<button id="to-a" data-push="/app/a">a</button>
<button id="to-b" data-push="/app/b">b</button>
<button id="tab" data-replace="/app/b?tab=2">tab</button>
<button id="back">back</button>
<button id="signup">sign up</button>`)},
		"/long":    {200, "text/html", page("long", tracker(`data-site="shop"`), `<div class="tall">long read</div><p id="end">end</p>`)},
		"/missing": {404, "text/html", page("not found", tracker(`data-site="shop" data-404`), `<p>not found</p>`)},
		"/consent": {200, "text/html", page("consent", `<script defer src="/consent.js"></script>`+tracker(`data-site="strict" data-consent="required"`),
			`<button id="agree">I agree</button>`)},
		// The canary proves the violation listener works: its image is
		// from an origin the policy does not allow.
		"/csp-canary":       {200, "text/html", page("canary", "", `<img alt="" src="http://127.0.0.1:9/blocked.gif">`)},
		"/site.css":         {200, "text/css", `.tall { height: 6000px; }`},
		"/files/report.pdf": {200, "application/pdf", "%PDF-1.4\n%%EOF\n"},
		// The snippet a site puts before the tracker so that calls made
		// before it loads are queued, then one such call.
		"/stub.js": {200, "text/javascript", `window.mote = window.mote || function () { (mote.q = mote.q || []).push(arguments) };
mote('Queued', { props: { early: 'yes' } });`},
		"/app.js": {200, "text/javascript", `document.addEventListener('click', function (e) {
  var b = e.target;
  if (b.dataset.push) history.pushState({}, '', b.dataset.push);
  if (b.dataset.replace) history.replaceState({}, '', b.dataset.replace);
  if (b.id === 'back') history.back();
  if (b.id === 'signup') mote('Signup', { props: { plan: 'pro' } });
});`},
		"/consent.js": {200, "text/javascript", `document.addEventListener('click', function (e) {
  if (e.target.id === 'agree') mote.consent(true);
});`},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p, ok := pages[r.URL.Path]
		if !ok && strings.HasPrefix(r.URL.Path, "/app/") {
			p, ok = pages["/app"], true // the SPA answers its routes on reload
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", p.contentType+"; charset=utf-8")
		w.WriteHeader(p.status)
		fmt.Fprint(w, p.body)
	})
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return fmt.Sprintf("http://localhost:%d", port)
}
