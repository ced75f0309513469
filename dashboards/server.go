package dashboards

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

// Config configures the admin listener. The zero value serves 404 for
// /metrics.
type Config struct {
	// Metrics serves /metrics (Prometheus text format); nil disables it.
	Metrics http.Handler
	// Campaigns serves /api/v1/campaigns and below (email campaigns:
	// create, list, links, reports); nil disables it.
	Campaigns *Campaigns

	// Stats is where the stats API and the web dashboard read; nil
	// disables both.
	Stats storage.SQL
	// SampleAbove is the stored rows of a period above which a filtered
	// card is estimated from a sample of visitors, unless the request
	// asks for exact=true (stats.Query.SampleAbove; 0: its default).
	SampleAbove uint64
	// MaxQueries caps the stats queries running in Stats at once (the
	// others wait for their turn); 0 means DefaultMaxQueries.
	MaxQueries int
	// Sites are the configured sites; the API answers for these only.
	Sites []mote.Site
	// Goals are each site's goals (by site id), counted by
	// /api/v1/stats/goals and the goals card.
	Goals map[string][]stats.Goal
	// Now is the clock of periods and realtime; nil means time.Now.
	Now func() time.Time
	// Logger receives failed queries; nil discards them.
	Logger *slog.Logger

	// PasswordHash is the admin password in HashPassword's form. With
	// none, the dashboard and the APIs answer loopback clients only,
	// without a login (see access.go).
	PasswordHash string
	// APIKeyHashes are HashAPIKey of each key accepted as
	// "Authorization: Bearer KEY".
	APIKeyHashes []string
	// CookieSecure marks the session cookie Secure even when the request
	// came over plain HTTP (TLS ends at a proxy in front); it is always
	// Secure over TLS.
	CookieSecure bool
	// SessionTTL is how long a login lasts; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// AllowedHosts are the host names (or addresses, without port) the
	// listener answers under, against DNS rebinding (see host.go).
	// Without a password, localhost and loopback addresses are answered
	// as well; with a password, an empty list answers any name.
	AllowedHosts []string

	// CollectorAddr is the collector's listen address (":8080"): the
	// dashboard's install guide names its port in the tracker snippet.
	CollectorAddr string
}

// Server is the admin HTTP server.
type Server struct {
	http *http.Server
}

// New builds the admin server's routes.
func New(cfg Config) *Server {
	mux := http.NewServeMux()
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	acc := newAccess(cfg, cfg.Now)
	if cfg.Campaigns != nil {
		ca := &campaignAPI{cfg: *cfg.Campaigns, store: storage.NewCampaigns(cfg.Campaigns.DB), log: cfg.Logger}
		ca.routes(mux, acc.admin)
	}
	acc.routes(mux)
	addDashboard(mux, cfg, acc)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return &Server{http: &http.Server{
		Handler:           newHostGuard(cfg, acc.open(), mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}}
}

// Serve answers on ln until Shutdown. It returns nil after a Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting and waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }
