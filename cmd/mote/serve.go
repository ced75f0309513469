package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/mote-analytics/mote/dashboards"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
	"github.com/mote-analytics/mote/storage/embedded"
	"github.com/mote-analytics/mote/storage/stats"
	"github.com/schollz/progressbar/v3"
)

// listeners lets tests learn the bound addresses when they listen on :0.
type listeners struct {
	collector, admin net.Addr
}

// serve runs the collector and the admin listener until ctx is cancelled,
// then shuts down in order: stop accepting hits, drain the spool into
// ClickHouse (bounded by ShutdownTimeout), close the spool and the engine.
// What is not drained in time stays in the spool for the next start.
func serve(ctx context.Context, cfg *Config, log *slog.Logger, ready chan<- listeners) error {
	p, err := openPipeline(ctx, cfg, log, ingestOptions{})
	if err != nil {
		return err
	}
	defer p.close()
	admin := dashboards.New(dashboards.Config{Metrics: metricsHandler(p), Campaigns: campaignAPI(cfg, p.store, p.campaigns),
		Stats: p.store, Sites: cfg.sites(), Goals: cfg.goals(), Logger: log,
		PasswordHash: cfg.Admin.PasswordHash, APIKeyHashes: cfg.Admin.APIKeys, CookieSecure: cfg.Admin.CookieSecure,
		AllowedHosts: cfg.Admin.AllowedHosts, CollectorAddr: cfg.Collector.Listen, SampleAbove: uint64(cfg.Admin.SampleAbove)})

	// The collector's socket is bound before the session cache is rebuilt
	// and served after: hits that arrive meanwhile wait in the kernel's
	// accept queue and are answered, in order, by the rebuilt cache, rather
	// than being refused or given new visits.
	colLn, err := net.Listen("tcp", cfg.Collector.Listen)
	if err != nil {
		return fmt.Errorf("listen collector: %w", err)
	}
	if err := p.visits.rebuild(ctx, p); err != nil {
		colLn.Close()
		return err
	}
	adminLn, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		colLn.Close()
		return fmt.Errorf("listen admin: %w", err)
	}
	log.Info("mote serving", "collector", colLn.Addr().String(), "admin", adminLn.Addr().String(), "version", version)
	if cfg.adminLoopbackOnly() {
		log.Warn("admin listener has no password (admin.password_hash): the dashboard and APIs answer loopback clients only, under localhost, loopback addresses and admin.allowed_hosts; /metrics and /healthz stay open", "admin", adminLn.Addr().String())
	}

	errc := make(chan error, 2)
	go func() { errc <- p.collector.Serve(colLn) }()
	go func() { errc <- admin.Serve(adminLn) }()
	if ready != nil {
		ready <- listeners{collector: colLn.Addr(), admin: adminLn.Addr()}
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	case serveErr = <-errc:
		log.Error("listener failed", "err", serveErr)
	}

	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := p.shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	if err := admin.Shutdown(sctx); err != nil {
		log.Warn("admin shutdown", "err", err)
	}
	return serveErr
}

// reloadOnHUP reloads the geo database on SIGHUP, the operator's way to
// swap in a new GeoIP2 file without dropping a hit.
func reloadOnHUP(ctx context.Context, geo *enrich.Geo, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := geo.Reload(); err != nil {
				log.Warn("geo database not reloaded; the previous one stays in service", "err", err)
			} else {
				log.Info("geo database reloaded")
			}
		}
	}
}

// openEngine opens the configured storage engine (not migrated).
func openEngine(ctx context.Context, cfg *Config, log *slog.Logger) (storage.Store, error) {
	if cfg.Storage.Engine == "embedded" {
		return embedded.Open(ctx, embedded.Config{
			LibPath: cfg.Storage.Embedded.Lib,
			DataDir: cfg.Storage.Embedded.DataDir,
			Logger:  log,
		})
	}
	return clickhouse.Open(ctx, clickhouse.Config{DSN: cfg.Storage.ClickHouse.DSN, Cluster: cfg.Storage.ClickHouse.Cluster, DirectShardWrites: cfg.Storage.ClickHouse.DirectShardWrites, Logger: log})
}

// migrate is "mote migrate": apply the schema and exit.
func migrate(ctx context.Context, cfg *Config, log *slog.Logger, w io.Writer) error {
	eng, err := openEngine(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer eng.Close()
	if err := eng.Migrate(ctx); err != nil {
		return err
	}
	// Then the summaries of every finished day that has none (all of them
	// after an upgrade from a version without summaries), with a progress
	// bar. Each day is kept once built, so an interrupted run resumes;
	// serve builds whatever is left, and reads raw rows meanwhile.
	var bar *progressbar.ProgressBar
	summaries := &stats.Summarizer{DB: eng, Sites: cfg.sites(), Log: log, OnDay: func(done, total int) {
		if bar == nil {
			bar = newProgressBar(w, total, "day summaries")
		}
		_ = bar.Set(done)
	}}
	_, err = summaries.Pass(ctx)
	if bar != nil {
		_ = bar.Finish()
	}
	return err
}
