package clickhouse

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// ExecSQL runs one statement without data or result (storage.SQL).
func (e *Engine) ExecSQL(ctx context.Context, query string) error {
	return e.conn.Exec(ctx, query)
}

// QuerySQL runs query and returns its rows with every value in the
// engine-neutral form storage.Rows documents (storage.SQL). A query only
// reads, so it is sent again when its connection was lost under it
// (retryDropped): the pool can hand out a connection the server has just
// closed (seen once in CI on 18.16, as "use of closed network connection"
// on the salt keeper's read after a refused mutation).
func (e *Engine) QuerySQL(ctx context.Context, query string) (*storage.Rows, error) {
	var out *storage.Rows
	err := retryDropped(ctx, func() error {
		var err error
		out, err = e.query(ctx, query)
		return err
	})
	return out, err
}

// query is one attempt of QuerySQL.
func (e *Engine) query(ctx context.Context, query string) (*storage.Rows, error) {
	rows, err := e.conn.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := rows.ColumnTypes()
	out := &storage.Rows{Columns: rows.Columns(), Types: make([]string, len(cols))}
	scanTypes := make([]reflect.Type, len(cols))
	for i, c := range cols {
		out.Types[i] = c.DatabaseTypeName()
		scanTypes[i] = c.ScanType()
	}
	for rows.Next() {
		ptrs := make([]any, len(cols))
		for i, t := range scanTypes {
			ptrs[i] = reflect.New(t).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		row := make([]any, len(cols))
		for i, p := range ptrs {
			row[i] = neutral(reflect.ValueOf(p).Elem())
		}
		out.Values = append(out.Values, row)
	}
	return out, rows.Err()
}

// neutral converts a value scanned by clickhouse-go into storage.Rows'
// forms: int64, uint64, float64, string, time.Time (UTC), []any or nil.
func neutral(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return neutral(v.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Bool:
		if v.Bool() {
			return uint64(1)
		}
		return uint64(0)
	case reflect.String:
		return v.String()
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 && v.Kind() == reflect.Slice {
			return string(v.Bytes())
		}
		a := make([]any, v.Len())
		for i := range a {
			a[i] = neutral(v.Index(i))
		}
		return a
	}
	if t, ok := v.Interface().(time.Time); ok {
		return t.UTC()
	}
	return fmt.Sprint(v.Interface())
}

// InsertRowSQL sends values as the one row of insert, as a native-protocol
// data block, so the values never appear in query text or the server's
// query log (storage.SQL).
func (e *Engine) InsertRowSQL(ctx context.Context, insert string, values ...any) error {
	return e.InsertRowsSQL(ctx, insert, [][]any{values})
}

// InsertRowsSQL sends rows as one native-protocol data block
// (storage.SQL).
func (e *Engine) InsertRowsSQL(ctx context.Context, insert string, rows [][]any) error {
	b, err := e.conn.PrepareBatch(ctx, insert)
	if err != nil {
		return err
	}
	for i, values := range rows {
		if err := b.Append(values...); err != nil {
			_ = b.Abort()
			return fmt.Errorf("append row %d: %w", i, err)
		}
	}
	return b.Send()
}
