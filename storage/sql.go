package storage

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mote-analytics/mote"
)

// QueryRow runs query on db and scans its first row into dest.
func QueryRow(ctx context.Context, db SQL, query string, dest ...any) error {
	rows, err := db.QuerySQL(ctx, query)
	if err != nil {
		return err
	}
	if len(rows.Values) == 0 {
		return ErrNoRows
	}
	return rows.Scan(0, dest...)
}

// Scan copies row i into dest, one pointer per column: *string, *uint64,
// *uint32, *uint16, *uint8, *int64, *int, *int8, *float64, *bool, *time.Time,
// *[]string or *any. A number that does not fit its destination is an
// error, never silently wrapped.
func (r *Rows) Scan(i int, dest ...any) error {
	if i < 0 || i >= len(r.Values) {
		return fmt.Errorf("scan row %d of %d", i, len(r.Values))
	}
	row := r.Values[i]
	if len(dest) != len(row) {
		return fmt.Errorf("scan: %d destinations for %d columns", len(dest), len(row))
	}
	for c, d := range dest {
		if err := assign(d, row[c]); err != nil {
			return fmt.Errorf("scan column %s: %w", r.Columns[c], err)
		}
	}
	return nil
}

func assign(dest, v any) error {
	switch d := dest.(type) {
	case *any:
		*d = v
		return nil
	case *string:
		switch v := v.(type) {
		case string:
			*d = v
		case nil:
			*d = ""
		default:
			*d = fmt.Sprint(v)
		}
		return nil
	case *time.Time:
		t, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("%T is not a time", v)
		}
		*d = t
		return nil
	case *float64:
		switch v := v.(type) {
		case float64:
			*d = v
		case int64:
			*d = float64(v)
		case uint64:
			*d = float64(v)
		case nil:
			*d = 0
		default:
			return fmt.Errorf("%T is not a number", v)
		}
		return nil
	case *[]string:
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%T is not an array", v)
		}
		out := make([]string, len(a))
		for i := range a {
			if err := assign(&out[i], a[i]); err != nil {
				return err
			}
		}
		*d = out
		return nil
	}
	return assignInteger(dest, v)
}

// assignInteger is assign for the integer destinations: v must be an
// integer that fits.
func assignInteger(dest, v any) error {
	n, err := integer(v)
	if err != nil {
		return err
	}
	switch d := dest.(type) {
	case *uint64:
		if n.neg {
			return fmt.Errorf("%v is negative", v)
		}
		*d = n.abs
	case *uint32:
		return setUint(d, n, math.MaxUint32, v)
	case *uint16:
		return setUint(d, n, math.MaxUint16, v)
	case *uint8:
		return setUint(d, n, math.MaxUint8, v)
	case *bool:
		*d = n.abs != 0
	case *int64:
		if n.abs > math.MaxInt64+uint64(b2u(n.neg)) {
			return fmt.Errorf("%v overflows int64", v)
		}
		*d = n.signed()
	case *int:
		if n.abs > math.MaxInt+uint64(b2u(n.neg)) {
			return fmt.Errorf("%v overflows int", v)
		}
		*d = int(n.signed())
	case *int8:
		if n.abs > math.MaxInt8+uint64(b2u(n.neg)) {
			return fmt.Errorf("%v overflows int8", v)
		}
		*d = int8(n.signed())
	default:
		return fmt.Errorf("unsupported destination %T", dest)
	}
	return nil
}

// magnitude is an integer of either sign without loss.
type magnitude struct {
	abs uint64
	neg bool
}

func (n magnitude) signed() int64 {
	if n.neg {
		return -int64(n.abs-1) - 1 // no overflow at MinInt64
	}
	return int64(n.abs)
}

func integer(v any) (magnitude, error) {
	switch v := v.(type) {
	case uint64:
		return magnitude{abs: v}, nil
	case int64:
		if v < 0 {
			return magnitude{abs: uint64(-(v + 1)) + 1, neg: true}, nil
		}
		return magnitude{abs: uint64(v)}, nil
	case float64:
		if v != math.Trunc(v) || math.Abs(v) >= 1<<63 {
			return magnitude{}, fmt.Errorf("%v is not an integer", v)
		}
		return integer(int64(v))
	case nil:
		return magnitude{}, nil
	}
	return magnitude{}, fmt.Errorf("%T is not a number", v)
}

func setUint[T uint8 | uint16 | uint32](d *T, n magnitude, limit uint64, v any) error {
	if n.neg || n.abs > limit {
		return fmt.Errorf("%v does not fit %T", v, *d)
	}
	*d = T(n.abs)
	return nil
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Quote makes s a ClickHouse string literal.
func Quote(s string) string { return string(AppendQuote(make([]byte, 0, len(s)+2), s)) }

// AppendQuote appends s as a ClickHouse string literal to b. Backslash and
// quote are escaped, and so are the control characters a line-based
// reader could trip on (a "\n\n" in inline INSERT data ends it early in
// chDB); every other byte stands for itself.
func AppendQuote(b []byte, s string) []byte {
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case 0:
			b = append(b, '\\', '0')
		default:
			b = append(b, c)
		}
	}
	return append(b, '\'')
}

// Literal renders a Go value as a ClickHouse literal: a quoted string, a
// number, 1/0 for a bool, a time in UTC ('2006-01-02' at midnight, which
// Date and DateTime columns both read, else '2006-01-02 15:04:05') or an
// array of those. Engines that send a row as text (chDB's Values input)
// use it; the rendered row travels as data, not in query text.
func Literal(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return Quote(v), nil
	case []byte:
		return Quote(string(v)), nil
	case bool:
		if v {
			return "1", nil
		}
		return "0", nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(v), 10), nil
	case int32:
		return strconv.FormatInt(int64(v), 10), nil
	case int8:
		return strconv.FormatInt(int64(v), 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case time.Time:
		u := v.UTC()
		if u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 {
			return Quote(u.Format(time.DateOnly)), nil
		}
		return Quote(u.Format(time.DateTime)), nil
	case []string:
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = Quote(s)
		}
		return "[" + strings.Join(parts, ",") + "]", nil
	}
	return "", fmt.Errorf("no literal for %T", v)
}

// TimeLit is a DateTime literal of t in UTC, for query text.
func TimeLit(t time.Time) string {
	return "toDateTime(" + Quote(t.UTC().Format(time.DateTime)) + ", 'UTC')"
}

// MutationTarget names the table a mutation (ALTER TABLE ... DELETE) or
// an OPTIMIZE must address: the table itself on one server; on a cluster
// the replicated <table>_local on every node (ON CLUSTER), since a
// Distributed table holds no data of its own.
func MutationTarget(db SQL, table string) string {
	if c, ok := db.(Clustered); ok && c.Cluster() != "" {
		return "`" + c.Database() + "`." + table + "_local ON CLUSTER " + c.Cluster()
	}
	return table
}

// withoutSecrets returns err with every secret (raw, in hex either case, or
// as a quoted literal) cut out of its message. An engine's error may quote
// the data it failed to read (chDB's Values parser does), and errors end
// up in logs; salts and campaign keys must not.
func withoutSecrets(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	orig := err.Error()
	msg := orig
	for _, s := range secrets {
		if s == "" {
			continue
		}
		h := hex.EncodeToString([]byte(s))
		for _, form := range []string{s, h, strings.ToUpper(h), Quote(s)} {
			msg = strings.ReplaceAll(msg, form, "[redacted]")
		}
	}
	if msg == orig {
		return err // nothing quoted: keep the error's chain
	}
	return errors.New(msg)
}

// ValidIdentifier accepts database and table names that need no quoting
// beyond backquotes: letters, digits (not first) and underscores, at most
// 128 bytes. Both engines check configured names with it.
func ValidIdentifier(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Excerpt is s cut to at most n bytes, on a rune boundary, with "..."
// when something was cut: how an engine's output or an unexpected value
// is quoted in an error message, which must stay short and valid UTF-8.
func Excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return mote.Truncate(s, n) + "..."
}
