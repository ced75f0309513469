package embedded

import (
	"encoding/hex"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mote-analytics/mote/storage"
)

// keepDB creates the shared engine's database once per process: the
// fuzz target queries through it, without a table.
var keepDB struct {
	sync.Once
	err error
}

// FuzzQuote sends arbitrary strings through storage.Quote (the literal
// quoting every hand-built query uses, filters included) and storage.Literal
// and runs the result on chDB: the value read back is the value sent, byte
// for byte (compared in hex, so invalid UTF-8 counts too), and no input
// changes the query's shape — one row, the same columns, the marker after
// the literal intact. A literal that broke out of its quotes would fail to
// parse, add a column or a row, or change the marker.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{
		"", "plain", "it's", `\`, `\'`, `\\'`, "'", "''", "'; DROP TABLE events; --", "' OR 1=1 --",
		"a\n\nb", "\r\n", "\t", "\x00", "\x00'", "\xff\xfe", "é✓", "?", "{x}", "{x:String}", "$1", "/* x */", "-- x",
		"\\x27", "\\0", "%_", "`", "\"", "\x1b[0m",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sharedDir(t)
		keepDB.Do(func() {
			keepDB.err = shared.keep.run(ctx(t), false, func(c *conn) error {
				_, err := c.query("CREATE DATABASE IF NOT EXISTS `keep`", "")
				return err
			})
		})
		if keepDB.err != nil {
			t.Fatal(keepDB.err)
		}
		lit, err := storage.Literal(s)
		if err != nil {
			t.Fatal(err)
		}
		if lit != storage.Quote(s) {
			t.Fatalf("Literal(%q) = %s, Quote gives %s", s, lit, storage.Quote(s))
		}
		q := "SELECT hex(" + lit + ") AS v, 'end' AS shape, length(" + lit + ") AS n"
		rows, err := shared.keep.QuerySQL(ctx(t), q)
		if err != nil {
			t.Fatalf("quoted %q: %v\n%s", s, err, q)
		}
		if !reflect.DeepEqual(rows.Columns, []string{"v", "shape", "n"}) || len(rows.Values) != 1 {
			t.Fatalf("quoted %q changed the query's shape: columns %q, %d rows", s, rows.Columns, len(rows.Values))
		}
		var got, marker string
		var n uint64
		if err := rows.Scan(0, &got, &marker, &n); err != nil {
			t.Fatal(err)
		}
		if want := strings.ToUpper(hex.EncodeToString([]byte(s))); got != want || marker != "end" || n != uint64(len(s)) {
			t.Fatalf("quoted %q read back as hex %s (%d bytes), marker %q; want %s (%d bytes)", s, got, n, marker, want, len(s))
		}
	})
}
