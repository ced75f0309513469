package main

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/collector"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/spool"
	"github.com/mote-analytics/mote/storage/stats"
	trackerjs "github.com/mote-analytics/mote/tracker-js"
)

// ingestOptions are what a command may change in the one ingest pipeline.
// The zero value is what `mote serve` runs.
type ingestOptions struct {
	// now is a simulated clock (mote demo stamps each hit with its
	// simulated time). With it, salts stay in this process's memory: a
	// simulated day must never publish a salt to the shared salts table.
	now func() time.Time
	// spoolDir replaces the configured spool directory (the demo spools
	// into a temporary one).
	spoolDir string
	// sites replaces the configured sites; trustedProxies, when set,
	// replaces the configured trusted proxies (the demo sends each hit's
	// address in X-Forwarded-For from loopback).
	sites          []mote.Site
	trustedProxies []netip.Prefix
	// batchMaxWait replaces the batcher's configured wait.
	batchMaxWait time.Duration
}

// pipeline is the ingest path, built in one place for every command that
// ingests hits (serve, demo): spool -> collector (with the session cache,
// whose rows go into the spool with each hit) -> batcher -> salts, plus the geo database, the
// campaign table and the storage link that keeps retrying storage. A
// command cannot run part of it: the demo once built its own copy without
// a part of the visits' path and lost every visit after day five.
type pipeline struct {
	log       *slog.Logger
	spool     *spool.Spool
	store     *storage.Link
	visits    *visits
	campaigns *collector.CampaignTable
	collector *collector.Server
	summaries *stats.Summarizer
	geo       *enrich.Geo

	stopGeo, stopCampaigns, stopStore func()
	storeDone                         sync.WaitGroup
	closeOnce                         sync.Once
}

// openPipeline opens the spool and storage (the embedded engine at once:
// it is part of this process, and an error opening it is the operator's to
// fix; a server is reached in the background, with retries, while hits go
// to the spool) and starts everything but the listeners.
func openPipeline(ctx context.Context, cfg *Config, log *slog.Logger, opt ingestOptions) (_ *pipeline, err error) {
	spoolDir := cfg.Spool.Dir
	if opt.spoolDir != "" {
		spoolDir = opt.spoolDir
	}
	sp, err := spool.Open(spool.Config{
		Dir:          spoolDir,
		MaxBytes:     cfg.Spool.MaxBytes,
		SegmentBytes: cfg.Spool.SegmentBytes,
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	p := &pipeline{log: log, spool: sp, stopGeo: func() {}, stopCampaigns: func() {}, stopStore: func() {}}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	batch := storage.BatcherConfig{MaxRows: cfg.Batch.MaxRows, MaxWait: cfg.Batch.MaxWait}
	if opt.batchMaxWait > 0 {
		batch.MaxWait = opt.batchMaxWait
	}
	p.store = storage.NewLink(storage.LinkConfig{
		Open:   func(ctx context.Context) (storage.Store, error) { return openEngine(ctx, cfg, log) },
		Spool:  sp,
		Batch:  batch,
		Sites:  cfg.sites(),
		Logger: log,
		// p.summaries and p.visits are made below, before Run can connect.
		OnConnect: func(ctx context.Context) {
			go p.summaries.Run(ctx)
			p.visits.connected(ctx)
		},
	})
	p.summaries = &stats.Summarizer{DB: p.store, Sites: cfg.sites(), Log: log}
	if cfg.Storage.Engine == "embedded" {
		if err := p.store.Connect(ctx); err != nil {
			return nil, err
		}
	}
	p.geo, p.stopGeo = openGeo(cfg, log)

	p.visits = startVisits(p.store, opt.now, log)
	p.campaigns, p.stopCampaigns = startCampaigns(p.store, opt.now, log)

	if p.collector, err = p.newCollector(cfg, opt); err != nil {
		return nil, err
	}

	storeCtx, stopStore := context.WithCancel(context.Background())
	p.stopStore = stopStore
	p.storeDone.Add(1)
	go func() { defer p.storeDone.Done(); p.store.Run(storeCtx) }()
	return p, nil
}

// openGeo opens the GeoIP2 database and watches it (a new file is loaded
// when it appears, and on SIGHUP). A missing or unreadable database leaves
// the geo fields empty: one warning now, and the watcher loads the file
// when it appears.
func openGeo(cfg *Config, log *slog.Logger) (*enrich.Geo, func()) {
	geo, err := enrich.OpenGeo(cfg.GeoIP.Path, enrich.GeoConfig{IPv4Bits: cfg.GeoIP.IPv4Bits, IPv6Bits: cfg.GeoIP.IPv6Bits})
	if err != nil {
		log.Warn("geo lookups disabled until the database can be read (make geoip fetches GeoLite2 City)", "err", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	go geo.Watch(ctx, 0, log)
	go reloadOnHUP(ctx, geo, log)
	return geo, stop
}

// newCollector builds the beacon server over the pipeline's parts.
func (p *pipeline) newCollector(cfg *Config, opt ingestOptions) (*collector.Server, error) {
	sites, proxies := cfg.sites(), cfg.trustedProxies()
	if opt.sites != nil {
		sites = opt.sites
	}
	if opt.trustedProxies != nil {
		proxies = opt.trustedProxies
	}
	return collector.New(collector.Config{
		Geo:            p.geo,
		Visitors:       p.visits.keeper,
		Sessions:       p.visits.sessions,
		Campaigns:      p.campaigns,
		Sites:          sites,
		TrustedProxies: proxies,
		ReadTimeout:    cfg.Collector.ReadTimeout,
		WriteTimeout:   cfg.Collector.WriteTimeout,
		IdleTimeout:    cfg.Collector.IdleTimeout,
		RateLimit:      cfg.Collector.RateLimit,
		RateBurst:      cfg.Collector.RateBurst,
		MaxConnsPerIP:  cfg.Collector.MaxConnsPerIP,
		Suppressions:   p.store.Suppressions(),
		Ready:          p.store.Ready,
		Degraded:       p.visits.degraded, // after a start that could not restore visits from storage
		Now:            opt.now,
		Logger:         p.log,
		Script:         trackerjs.Script,
	}, p.spool)
}

// waitStorage waits until storage is reached and migrated.
func (p *pipeline) waitStorage(ctx context.Context) error {
	select {
	case <-p.store.Connected():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shutdown stops in order: the collector stops accepting hits, the salts
// are wiped, the campaign table
// stops, then the spool is drained into storage (bounded by ctx; what is
// left is replayed at the next start). Storage stays open for close.
func (p *pipeline) shutdown(ctx context.Context) error {
	var errs []error
	if err := p.collector.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	p.visits.close()
	p.stopCampaigns()
	p.stopStore()
	p.storeDone.Wait()
	if err := p.store.Drain(ctx); err != nil {
		errs = append(errs, errors.Join(errSpoolNotDrained, err))
	}
	return errors.Join(errs...)
}

var errSpoolNotDrained = errors.New("spool not fully drained; it is replayed at next start")

// close releases storage, the spool and the geo watcher; after shutdown.
func (p *pipeline) close() {
	p.closeOnce.Do(func() {
		p.stopGeo()
		if p.store != nil {
			p.store.Close()
		}
		p.spool.Close()
	})
}
