package embedded

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// ExecSQL runs one statement without data or result (storage.SQL).
func (e *Engine) ExecSQL(ctx context.Context, query string) error { return e.Exec(ctx, query) }

// QuerySQL runs query and decodes its rows into the engine-neutral forms
// of storage.Rows (storage.SQL). chDB answers in
// JSONCompactEachRowWithNamesAndTypes; the type line says how to read each
// JSON value (64-bit integers arrive quoted, dates as text). Strings must
// be valid UTF-8 to survive JSON: binary values are read with hex().
func (e *Engine) QuerySQL(ctx context.Context, query string) (*storage.Rows, error) {
	out, err := e.Query(ctx, query, "JSONCompactEachRowWithNamesAndTypes")
	if err != nil {
		return nil, err
	}
	rows := &storage.Rows{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, len(out)+1)
	for line := 0; sc.Scan(); line++ {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var vals []any
		if err := dec.Decode(&vals); err != nil {
			return nil, fmt.Errorf("query embedded %s: decode line %d: %w", e.db, line+1, err)
		}
		switch line {
		case 0:
			rows.Columns = strs(vals)
		case 1:
			rows.Types = strs(vals)
		default:
			if len(vals) != len(rows.Types) {
				return nil, fmt.Errorf("query embedded %s: row of %d values for %d columns", e.db, len(vals), len(rows.Types))
			}
			for i, v := range vals {
				if vals[i], err = fromJSON(rows.Types[i], v); err != nil {
					return nil, fmt.Errorf("query embedded %s: column %s: %w", e.db, rows.Columns[i], err)
				}
			}
			rows.Values = append(rows.Values, vals)
		}
	}
	return rows, sc.Err()
}

func strs(vals []any) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i], _ = v.(string)
	}
	return out
}

// fromJSON converts one JSON value of ClickHouse type typ.
func fromJSON(typ string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	typ = unwrap(unwrap(typ, "LowCardinality("), "Nullable(")
	switch {
	case strings.HasPrefix(typ, "Array("):
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s value %T", typ, v)
		}
		elem := strings.TrimSuffix(strings.TrimPrefix(typ, "Array("), ")")
		for i := range a {
			var err error
			if a[i], err = fromJSON(elem, a[i]); err != nil {
				return nil, err
			}
		}
		return a, nil
	case strings.HasPrefix(typ, "UInt"):
		return strconv.ParseUint(text(v), 10, 64)
	case strings.HasPrefix(typ, "Int"):
		return strconv.ParseInt(text(v), 10, 64)
	case strings.HasPrefix(typ, "Float"), strings.HasPrefix(typ, "Decimal"):
		return strconv.ParseFloat(text(v), 64)
	case typ == "Bool":
		if b, ok := v.(bool); ok && b {
			return uint64(1), nil
		}
		return uint64(0), nil
	case typ == "Date" || typ == "Date32":
		return time.Parse(time.DateOnly, text(v))
	case strings.HasPrefix(typ, "DateTime"):
		// Mote's columns are DateTime('UTC'); a DateTime64 has a fraction.
		return time.Parse("2006-01-02 15:04:05.999999999", text(v))
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return text(v), nil
}

func unwrap(typ, prefix string) string {
	if strings.HasPrefix(typ, prefix) && strings.HasSuffix(typ, ")") {
		return typ[len(prefix) : len(typ)-1]
	}
	return typ
}

func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return fmt.Sprint(v)
}

// InsertRowSQL sends values as the one row of insert (storage.SQL).
func (e *Engine) InsertRowSQL(ctx context.Context, insert string, values ...any) error {
	return e.InsertRowsSQL(ctx, insert, [][]any{values})
}

// InsertRowsSQL sends rows through chDB's streaming insert in Values
// format: they travel as data, never in the query text (storage.SQL).
func (e *Engine) InsertRowsSQL(ctx context.Context, insert string, rows [][]any) error {
	var b strings.Builder
	for r, values := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			lit, err := storage.Literal(v)
			if err != nil {
				return fmt.Errorf("insert row %d: value %d: %w", r, i, err)
			}
			b.WriteString(lit)
		}
		b.WriteByte(')')
	}
	err := e.run(ctx, true, func(c *conn) error {
		_, err := c.insert(insert, "Values", []byte(b.String()))
		return err
	})
	if err != nil {
		return fmt.Errorf("insert rows embedded %s: %w", e.db, err)
	}
	return nil
}
