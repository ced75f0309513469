package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/mote-analytics/mote/dashboards"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
	"github.com/mote-analytics/mote/storage/embedded"
	"github.com/mote-analytics/mote/storage/spool"
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
	admin := dashboards.New(dashboards.Config{Metrics: metricsHandler(p), Campaigns: campaignHandler(cfg, p.store, p.campaigns),
		Stats: sqlLink{p.store}, Sites: cfg.sites(), Goals: cfg.goals(), Logger: log,
		PasswordHash: cfg.Admin.PasswordHash, APIKeyHashes: cfg.Admin.APIKeys, CookieSecure: cfg.Admin.CookieSecure,
		AllowedHosts: cfg.Admin.AllowedHosts, CollectorAddr: cfg.Collector.Listen})

	colLn, err := net.Listen("tcp", cfg.Collector.Listen)
	if err != nil {
		return fmt.Errorf("listen collector: %w", err)
	}
	adminLn, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		colLn.Close()
		return fmt.Errorf("listen admin: %w", err)
	}
	log.Info("mote serving", "collector", colLn.Addr().String(), "admin", adminLn.Addr().String(), "version", version)
	if cfg.adminLoopbackOnly() {
		log.Warn("admin listener has no password (admin.password_hash): the dashboard and APIs answer loopback clients only; /metrics and /healthz stay open", "admin", adminLn.Addr().String())
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

// storageLink connects the spool to ClickHouse and keeps trying while
// ClickHouse is unreachable: the collector accepts hits into the spool
// from the first second, whatever the state of the database.
type storageLink struct {
	cfg          *Config
	batch        batchConfig
	spool        *spool.Spool
	log          *slog.Logger
	suppressions *storage.Suppressions

	opened engine // the embedded engine, opened before serving
	// onConnect runs once the engine is reachable and migrated.
	onConnect func(ctx context.Context)
	// connected is closed then (mote demo waits for it).
	connected chan struct{}

	mu      sync.Mutex
	engine  engine
	batcher *storage.Batcher
}

// engine is what serve needs of a storage engine.
type engine interface {
	storage.Engine
	storage.SuppressedWriter
	storage.SQL
}

// run opens the engine, migrates, and tails the spool until ctx is done.
func (s *storageLink) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		eng, err := s.opened, error(nil)
		if eng == nil {
			eng, err = s.connect(ctx)
		}
		if err == nil {
			b := storage.NewBatcher(s.spool, eng, storage.BatcherConfig{
				MaxRows: s.batch.MaxRows,
				MaxWait: s.batch.MaxWait,
			}, s.log)
			s.mu.Lock()
			s.engine, s.batcher = eng, b
			s.mu.Unlock()
			close(s.connected)
			if s.onConnect != nil {
				go s.onConnect(ctx)
			}
			go s.flushSuppressions(ctx, eng)
			go s.enforceRetention(ctx, eng)
			if err := b.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("batcher stopped", "err", err)
			}
			return
		}
		s.log.Warn("storage unavailable, hits are kept in the spool", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// connect opens the configured engine and migrates it.
func (s *storageLink) connect(ctx context.Context) (engine, error) {
	eng, err := openEngine(ctx, s.cfg, s.log)
	if err != nil {
		return nil, err
	}
	if err := eng.Migrate(ctx); err != nil {
		eng.Close()
		return nil, err
	}
	return eng, nil
}

// openEngine opens the configured storage engine.
func openEngine(ctx context.Context, cfg *Config, log *slog.Logger) (engine, error) {
	if cfg.Storage.Engine == "embedded" {
		return embedded.Open(ctx, embedded.Config{
			LibPath: cfg.Storage.Embedded.Lib,
			DataDir: cfg.Storage.Embedded.DataDir,
			Logger:  log,
		})
	}
	return clickhouse.Open(ctx, clickhouse.Config{DSN: cfg.Storage.ClickHouse.DSN, Cluster: cfg.Storage.ClickHouse.Cluster, DirectShardWrites: cfg.Storage.ClickHouse.DirectShardWrites, Logger: log})
}

// suppressionFlushEvery is how often the anonymous suppression counters
// are written: they are not spooled, so this bounds what a crash loses.
const suppressionFlushEvery = 10 * time.Second

// flushSuppressions writes the suppression counters periodically until ctx
// ends; drain writes the rest.
func (s *storageLink) flushSuppressions(ctx context.Context, eng engine) {
	t := time.NewTicker(suppressionFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.suppressions.Flush(ctx, eng); err != nil {
				s.log.Warn("suppression counters not written; kept for the next flush", "err", err)
			}
		}
	}
}

// drain inserts what the spool holds and the suppression counters, if
// storage was ever reached.
func (s *storageLink) drain(ctx context.Context) error {
	s.mu.Lock()
	b, eng := s.batcher, s.engine
	s.mu.Unlock()
	if b == nil {
		return errors.New("storage never became reachable")
	}
	return errors.Join(b.Drain(ctx), s.suppressions.Flush(ctx, eng))
}

func (s *storageLink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.engine != nil {
		s.engine.Close()
	}
}

// ready is /readyz: the spool accepts hits (it absorbs a storage outage up
// to its cap), or ClickHouse answers (so the spool is about to drain).
func (s *storageLink) ready() bool {
	if s.spool.Accepting() {
		return true
	}
	s.mu.Lock()
	eng := s.engine
	s.mu.Unlock()
	if eng == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return eng.Ping(ctx) == nil
}

// migrate is "mote migrate": apply the schema and exit.
func migrate(ctx context.Context, cfg *Config, log *slog.Logger) error {
	eng, err := openEngine(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer eng.Close()
	return eng.Migrate(ctx)
}

// batcherCounters is zero until storage was first reached.
func (s *storageLink) batcherCounters() storage.BatcherCounters {
	s.mu.Lock()
	b := s.batcher
	s.mu.Unlock()
	if b == nil {
		return storage.BatcherCounters{}
	}
	return b.Counters()
}
