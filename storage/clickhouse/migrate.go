package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mote-analytics/mote/storage"
)

// Migrate creates the database if missing and applies, in order, the
// migrations not yet recorded in schema_migrations, recording each after
// its statements succeeded. It is safe to call on every start.
//
// Two processes may migrate the same database at once (two collectors
// starting together). ClickHouse has no transactions to lock with, so
// safety comes from idempotence instead: every statement is CREATE ... IF
// NOT EXISTS, ALTER TABLE ... ADD COLUMN, DROP TABLE IF EXISTS or an insert
// into counters (a storage test enforces this), the server serialises DDL
// on one table name and re-checks existence under that guard, and a
// failure whose work is done already ("already exists", a copy out of a
// table the migration dropped: storage.Schema.ApplyPending) is taken as
// success. Both
// processes may then record the same version; schema_migrations is a
// ReplacingMergeTree keyed by version and is read with DISTINCT, so the
// duplicate is harmless. A process that crashes between a migration's
// statements and its record simply runs the (idempotent) statements again.
func (e *Engine) Migrate(ctx context.Context) error {
	if err := e.createDatabase(ctx); err != nil {
		return err
	}
	applied := func() (map[uint32]bool, error) { return e.appliedVersions(ctx) }
	exec := func(stmt string, record bool) error {
		if record {
			return e.conn.Exec(ctx, stmt)
		}
		return retryDropped(ctx, func() error { return e.conn.Exec(ctx, stmt) })
	}
	return e.schema.ApplyPending(e.db, applied, exec, errCode, func(m storage.Migration) {
		e.log.Info("applied migration", "version", m.Version, "name", m.Name, "database", e.db, "server", e.version.String())
	})
}

// createDatabase runs CREATE DATABASE IF NOT EXISTS on a connection that
// names no database (the engine's pool cannot connect until it exists).
func (e *Engine) createDatabase(ctx context.Context) error {
	opt, _, err := e.cfg.options()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	opt.MaxOpenConns, opt.MaxIdleConns = 1, 1
	admin, err := ch.Open(opt)
	if err != nil {
		return fmt.Errorf("migrate: create database %s: %w", e.db, err)
	}
	defer admin.Close()
	err = retryDropped(ctx, func() error { return admin.Exec(ctx, e.schema.CreateDatabaseSQL()) })
	if err != nil && !hasCode(err, codeDatabaseExists) {
		return fmt.Errorf("migrate: create database %s: %w", e.db, err)
	}
	return nil
}

// ddlAttempts bounds retryDropped: a statement (or a query, QuerySQL) is
// sent at most this often.
const ddlAttempts = 3

// retryDropped runs an idempotent statement (every migration statement is
// CREATE ... IF NOT EXISTS) again when the connection was lost under it,
// at most ddlAttempts times in all. A dropped connection says nothing
// about whether the server applied the statement, and running it again is
// harmless; a statement ON CLUSTER keeps its connection open while every
// server of the cluster applies it, which gives a drop more time to
// happen (seen once in CI on 18.16 as "read: EOF"). Server exceptions are
// returned at once.
func retryDropped(ctx context.Context, exec func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = exec(); err == nil || !dropped(err) || attempt == ddlAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
		}
	}
}

// dropped reports whether err is a lost connection (a server exception
// never wraps one of these).
func dropped(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// AppliedVersions returns the migration versions recorded in the database
// (none when schema_migrations does not exist yet).
func (e *Engine) appliedVersions(ctx context.Context) (map[uint32]bool, error) {
	rows, err := e.conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if hasCode(err, storage.CodeUnknownTable) {
		return map[uint32]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations of %s: %w", e.db, err)
	}
	defer rows.Close()
	applied := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations of %s: %w", e.db, err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations of %s: %w", e.db, err)
	}
	return applied, nil
}
