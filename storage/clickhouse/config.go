package clickhouse

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// Config says how to reach the server. The zero value means the default
// user without a password on 127.0.0.1:9000, database "mote".
type Config struct {
	// DSN, when set, is a clickhouse-go DSN
	// (clickhouse://user:password@host:port/database?dial_timeout=5s) and
	// takes precedence over Addr, Database, User and Password.
	DSN string

	Addr     string // host:port of the native protocol; default 127.0.0.1:9000
	Database string // default "mote"; Migrate creates it
	User     string // default "default"
	Password string

	// DialTimeout bounds connecting; default 5 s.
	DialTimeout time.Duration
	// ReadTimeout bounds each wait for the server during a query; default
	// 60 s. The caller's context deadline applies as well.
	ReadTimeout time.Duration
	// MaxOpenConns caps the connection pool; default 4 (one inserter plus a
	// few readers).
	MaxOpenConns int
	// Compression sends blocks LZ4-compressed. Off by default: on loopback
	// or a LAN the CPU costs more than the bytes saved.
	Compression bool

	// Retention is the TTL of raw events and sessions where the server
	// supports TTL; zero means mote.DefaultRetention.
	Retention time.Duration
	// DedupWindow is the events table's non_replicated_deduplication_window
	// on servers that support it; zero means storage.DefaultDedupWindow.
	DedupWindow int

	// Cluster, when set, is the name of the ClickHouse cluster (the
	// remote_servers entry) the database lives on: migrations run ON
	// CLUSTER and create Replicated local tables with Distributed tables
	// over them (see storage/schema_cluster.go), and inserts are
	// synchronous (insert_distributed_sync). The salts table stays a
	// Memory table on the server this engine reaches first: list the same
	// host first in every collector's DSN.
	Cluster string
	// DirectShardWrites, in cluster mode, makes InsertEvents route each
	// event to its shard itself (murmurHash3_64(visitor_id) over the shard
	// weights, as the Distributed table would) and insert it into the
	// shard's events_local table, instead of sending the batch through the
	// Distributed table. The layout is read from system.clusters at Open.
	// See direct.go.
	DirectShardWrites bool

	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
}

// options turns cfg into clickhouse-go options and the database name. The
// options carry no database: Migrate must be able to connect before the
// database exists, so the engine sets it per pool.
func (cfg Config) options() (*ch.Options, string, error) {
	var opt *ch.Options
	db := cfg.Database
	if cfg.DSN != "" {
		var err error
		if opt, err = ch.ParseDSN(cfg.DSN); err != nil {
			// The parse error may quote the DSN, password included.
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			return nil, "", fmt.Errorf("parse dsn (not shown, it may hold a password): %v", redact(err, cfg.DSN))
		}
		db = opt.Auth.Database
	} else {
		addr := cfg.Addr
		if addr == "" {
			addr = "127.0.0.1:9000"
		}
		user := cfg.User
		if user == "" {
			user = "default"
		}
		opt = &ch.Options{Addr: []string{addr}, Auth: ch.Auth{Username: user, Password: cfg.Password}}
	}
	if db == "" {
		db = "mote"
	}
	opt.Auth.Database = ""
	if cfg.DialTimeout > 0 || opt.DialTimeout == 0 {
		opt.DialTimeout = orDefault(cfg.DialTimeout, 5*time.Second)
	}
	if cfg.ReadTimeout > 0 || opt.ReadTimeout == 0 {
		opt.ReadTimeout = orDefault(cfg.ReadTimeout, 60*time.Second)
	}
	if cfg.MaxOpenConns > 0 || opt.MaxOpenConns == 0 {
		opt.MaxOpenConns = cfg.MaxOpenConns
		if opt.MaxOpenConns <= 0 {
			opt.MaxOpenConns = 4
		}
	}
	opt.MaxIdleConns = opt.MaxOpenConns
	if cfg.Cluster != "" {
		// Every insert through a Distributed table waits until the shards
		// stored it: a batch the Batcher checkpoints is then on the shards
		// (replicated and visible to BatchRows), not in one node's queue.
		if opt.Settings == nil {
			opt.Settings = ch.Settings{}
		}
		opt.Settings["insert_distributed_sync"] = 1
	}
	if cfg.Compression {
		opt.Compression = &ch.Compression{Method: ch.CompressionLZ4}
	}
	return opt, db, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// redact removes s from err's text.
func redact(err error, s string) string {
	return strings.ReplaceAll(err.Error(), s, "<dsn>")
}
