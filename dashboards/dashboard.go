package dashboards

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/mote-analytics/mote/storage"
)

// ui is the web dashboard: static files that call the stats API. The
// vendor directory holds uPlot, copied from the pinned npm package by
// `make dashboard-ui` and committed, so that `go build` needs no npm.
//
//go:embed ui
var ui embed.FS

// csp allows only the dashboard's own files; uPlot sizes its elements
// through inline styles.
const csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// addDashboard adds the stats API and the web dashboard when cfg has a
// store to read.
func addDashboard(mux *http.ServeMux, cfg Config, acc *access) {
	if cfg.Stats == nil {
		return
	}
	a := newAPI(cfg)
	a.routes(mux, acc.stats)
	s := &shareAPI{api: a, links: storage.NewShareLinks(cfg.Stats), shares: acc.shares}
	s.routes(mux, acc.admin)
	files, _ := fs.Sub(ui, "ui")
	static := http.StripPrefix("/ui/", uiFiles(files))
	mux.Handle("GET /ui/", secure(static))
	// Public by design: the page holds no data, only the site's settings.
	mux.Handle("GET /privacy/{site}", secure(http.HandlerFunc(a.handleMeasures)))
	mux.Handle("GET /{$}", secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, "index.html")
	})))
}

// uiFiles serves the embedded files. A name no file can have (invalid
// UTF-8 such as /ui/%ff or /ui/%c0%ae, "..", a NUL) is 404 here:
// http.FileServerFS answers fs.ErrInvalid with 500.
func uiFiles(files fs.FS) http.Handler {
	fsrv := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(r.URL.Path, "/")
		if name == "" {
			name = "."
		}
		if !utf8.ValidString(name) || !fs.ValidPath(name) || strings.ContainsRune(name, 0) {
			http.NotFound(w, r)
			return
		}
		fsrv.ServeHTTP(w, r)
	})
}

// secure adds the headers every dashboard page carries.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
