package embedded

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mote-analytics/mote/storage"
)

// Migrate creates the database if missing and applies, in order, the
// migrations not yet recorded in schema_migrations, recording each after
// its statements succeeded. It is the server engine's procedure on the
// same rendered SQL (storage.Schema for chDB's ClickHouse version, so TTL,
// LowCardinality and the dedup window are on): every statement creates,
// adds a column, drops if it exists or adds to counters, a failure whose
// work is done already (storage.Schema.ApplyPending) counts as success,
// and schema_migrations is read with DISTINCT. Within one process
// statements are serialised anyway; idempotence covers a crash between a
// migration and its record.
func (e *Engine) Migrate(ctx context.Context) error {
	err := e.run(ctx, false, func(c *conn) error {
		_, err := c.query("CREATE DATABASE IF NOT EXISTS `"+e.db+"`", "TabSeparated")
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: create database %s: %w", e.db, err)
	}
	applied := func() (map[uint32]bool, error) { return e.appliedVersions(ctx) }
	exec := func(stmt string, _ bool) error { return e.Exec(ctx, stmt) }
	return e.schema.ApplyPending(e.db, applied, exec, errCode, func(m storage.Migration) {
		e.log.Info("applied migration", "version", m.Version, "name", m.Name, "database", e.db, "engine", "embedded", "server", e.version.String())
	})
}

// appliedVersions returns the migration versions recorded in the database
// (none when schema_migrations does not exist yet).
func (e *Engine) appliedVersions(ctx context.Context) (map[uint32]bool, error) {
	out, err := e.Query(ctx, "SELECT DISTINCT version FROM schema_migrations", "TabSeparated")
	if hasCode(err, storage.CodeUnknownTable) {
		return map[uint32]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations of %s: %w", e.db, err)
	}
	applied := map[uint32]bool{}
	for _, line := range strings.Fields(string(out)) {
		v, err := strconv.ParseUint(line, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("read schema_migrations of %s: version %q", e.db, storage.Excerpt(line, 20))
		}
		applied[uint32(v)] = true
	}
	return applied, nil
}

// quotedColumns is storage.EventColumns, backquoted and comma-separated.
func quotedColumns() string {
	var b strings.Builder
	for i, c := range storage.EventColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + c + "`")
	}
	return b.String()
}
