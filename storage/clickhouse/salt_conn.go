package clickhouse

import (
	"context"
	"fmt"

	"github.com/mote-analytics/mote/storage"
)

var _ storage.SaltConn = (*Engine)(nil)

// ExecSQL runs one statement without data or result (storage.SaltConn).
func (e *Engine) ExecSQL(ctx context.Context, query string) error {
	return e.conn.Exec(ctx, query)
}

// QueryRowSQL scans the first row of query into dest (storage.SaltConn).
func (e *Engine) QueryRowSQL(ctx context.Context, query string, dest ...any) error {
	return e.conn.QueryRow(ctx, query).Scan(dest...)
}

// InsertRowSQL sends values as the one row of insert, as a native-protocol
// data block, so the values never appear in query text or the server's
// query log (storage.SaltConn).
func (e *Engine) InsertRowSQL(ctx context.Context, insert string, values ...any) error {
	b, err := e.conn.PrepareBatch(ctx, insert)
	if err != nil {
		return err
	}
	if err := b.Append(values...); err != nil {
		_ = b.Abort()
		return fmt.Errorf("append row: %w", err)
	}
	return b.Send()
}
