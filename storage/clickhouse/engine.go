package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mote-analytics/mote/storage"
)

// Engine is a storage.Engine on a ClickHouse server. Migrate, BatchRows,
// Ping and Close may be called from any goroutine. InsertEvents reuses its
// column buffers between calls, so calls are serialised by a mutex: the
// engine is meant to have one inserter (the Batcher goroutine), and a
// second one would only wait.
type Engine struct {
	cfg      Config
	db       string
	conn     driver.Conn // pool whose connections use db
	version  storage.ServerVersion
	features storage.Features
	schema   storage.Schema
	log      *slog.Logger

	insertMu  sync.Mutex
	cols      eventColumns // reused by InsertEvents
	insertSQL string
	direct    *direct // per-shard pools with Config.DirectShardWrites, else nil
}

// The storage contracts the engine fulfils, checked here in one place.
var (
	_ storage.Engine          = (*Engine)(nil)
	_ storage.SQL             = (*Engine)(nil)
	_ storage.SessionInserter = (*Engine)(nil)
)

// Open connects to the server and detects its version. The database need
// not exist yet: Migrate creates it.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	opt, db, err := cfg.options()
	if err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	if !storage.ValidIdentifier(db) {
		return nil, fmt.Errorf("open clickhouse: database name %q: want letters, digits and underscores", db)
	}
	if cfg.DirectShardWrites && cfg.Cluster == "" {
		return nil, errors.New("open clickhouse: direct shard writes need a cluster")
	}
	addr := opt.Addr
	raw, err := serverVersion(ctx, opt)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %v: %w", addr, err)
	}
	v, err := storage.ParseServerVersion(raw)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %v: %w", addr, err)
	}
	opt, _, _ = cfg.options()
	opt.Auth.Database = db
	conn, err := ch.Open(opt)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %v: %w", addr, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var d *direct
	if cfg.DirectShardWrites {
		if d, err = openDirect(ctx, cfg, db); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("open clickhouse %v: %w", addr, err)
		}
		log.Info("direct shard writes", "cluster", cfg.Cluster, "layout", d.layout())
	}
	return &Engine{
		direct:    d,
		cfg:       cfg,
		db:        db,
		conn:      conn,
		version:   v,
		features:  v.Features(),
		schema:    storage.Schema{Server: v, Retention: cfg.Retention, DedupWindow: cfg.DedupWindow, Cluster: cfg.Cluster, Database: db},
		log:       log,
		insertSQL: storage.InsertEventsSQL(),
	}, nil
}

// serverVersion asks SELECT version() on a connection without a database.
func serverVersion(ctx context.Context, opt *ch.Options) (string, error) {
	conn, err := ch.Open(opt)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var v string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "", err
	}
	return v, nil
}

// ServerVersion is the version detected at Open.
func (e *Engine) ServerVersion() storage.ServerVersion { return e.version }

// Database is the database the engine writes to.
func (e *Engine) Database() string { return e.db }

// Cluster is the configured cluster name, "" on a single server
// (storage.Clustered).
func (e *Engine) Cluster() string { return e.cfg.Cluster }

// Ping reports whether the server answers.
func (e *Engine) Ping(ctx context.Context) error {
	if err := e.conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping clickhouse: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (e *Engine) Close() error {
	if e.direct != nil {
		if err := e.direct.close(); err != nil {
			_ = e.conn.Close()
			return fmt.Errorf("close clickhouse: %w", err)
		}
	}
	if err := e.conn.Close(); err != nil {
		return fmt.Errorf("close clickhouse: %w", err)
	}
	return nil
}

// BatchRows counts the events stored under batchID. On servers with
// Features.BatchIndex a minmax index on batch_id keeps this cheap; on older
// ones it scans the batch_id column. With direct shard writes it first
// completes the batch if parts of it failed, then counts on each shard
// (see direct.go).
func (e *Engine) BatchRows(ctx context.Context, batchID uint64) (uint64, error) {
	if e.direct != nil {
		return e.batchRowsDirect(ctx, batchID)
	}
	var n uint64
	q := fmt.Sprintf("SELECT count() FROM events WHERE batch_id = %d", batchID)
	if err := e.conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows of batch %d: %w", batchID, err)
	}
	return n, nil
}

// Server error codes the engine tells apart.
const (
	codeDatabaseExists = 82
)

// hasCode reports whether err is a server exception with one of codes.
func hasCode(err error, codes ...int) bool {
	return slices.Contains(codes, errCode(err))
}

// errCode is the server's error code in err, or 0.
func errCode(err error) int {
	var exc *ch.Exception
	if errors.As(err, &exc) {
		return int(exc.Code)
	}
	return 0
}
