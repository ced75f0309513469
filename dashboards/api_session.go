package dashboards

import (
	"net"
	"net/http"
)

// uiConfig is what the dashboard page learns from /api/v1/session: what
// the server's configuration says, never a secret.
type uiConfig struct {
	password      bool   // a password is configured: "Log out" means something
	collectorPort string // where /m.js is served, for the install guide
}

func newUIConfig(cfg Config) uiConfig {
	c := uiConfig{password: cfg.PasswordHash != ""}
	if _, port, err := net.SplitHostPort(cfg.CollectorAddr); err == nil {
		c.collectorPort = port
	}
	return c
}

// handleSession answers what the page shows around the numbers: "Log
// out" only where there is a session to end (a password is configured
// and the caller is not a share link), and the collector's port for the
// tracker snippet of the install guide.
func (a *api) handleSession(w http.ResponseWriter, r *http.Request) {
	_, share := r.Context().Value(scopeKey{}).(string)
	writeJSON(w, map[string]any{"logout": a.ui.password && !share, "share": share, "collector_port": a.ui.collectorPort})
}
