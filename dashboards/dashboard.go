package dashboards

import "net/http"

// addDashboard adds the stats API (and, below, the web dashboard) when
// cfg has a store to read.
func addDashboard(mux *http.ServeMux, cfg Config) {
	if cfg.Stats == nil {
		return
	}
	open := func(h http.HandlerFunc) http.HandlerFunc { return h }
	newAPI(cfg).routes(mux, open)
}
