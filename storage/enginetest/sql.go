package enginetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// testSQLValues checks that QuerySQL gives the same Go values on every
// engine for the column types Mote's queries return, and that a row sent
// with InsertRowSQL comes back unchanged — quotes, backslashes and
// newlines included.
func testSQLValues(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	rows, err := e.QuerySQL(c, `SELECT toUInt64(18446744073709551615) AS u, toInt64(-9223372036854775808) AS i,
		toUInt8(7) AS small, toFloat64(0.25) AS f, 'it''s \\ fine' AS s, toDateTime('2026-03-01 12:34:56', 'UTC') AS dt,
		toDate('2026-03-01') AS d, ['a', 'b'] AS arr, CAST(NULL AS Nullable(String)) AS n, toLowCardinality('lc') AS lc
		FROM system.one`)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{uint64(18446744073709551615), int64(-9223372036854775808), uint64(7), 0.25, `it's \ fine`,
		time.Date(2026, 3, 1, 12, 34, 56, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		[]any{"a", "b"}, nil, "lc"}
	if len(rows.Values) != 1 || !reflect.DeepEqual(rows.Values[0], want) {
		t.Fatalf("values %#v\nwant   %#v", rows.Values, want)
	}
	if wantCols := []string{"u", "i", "small", "f", "s", "dt", "d", "arr", "n", "lc"}; !reflect.DeepEqual(rows.Columns, wantCols) {
		t.Errorf("columns %v", rows.Columns)
	}
	var u uint64
	var i int64
	var small uint8
	var f float64
	var s, n, lc string
	var dt, d time.Time
	var arr []string
	if err := rows.Scan(0, &u, &i, &small, &f, &s, &dt, &d, &arr, &n, &lc); err != nil {
		t.Fatal(err)
	}
	var tooSmall uint8
	if err := storage.QueryRow(c, e, "SELECT toUInt32(300)", &tooSmall); err == nil {
		t.Errorf("300 scanned into a uint8 as %d", tooSmall)
	}
	if err := storage.QueryRow(c, e, "SELECT 1 FROM system.one WHERE 0", &u); err != storage.ErrNoRows {
		t.Errorf("empty result: %v, want ErrNoRows", err)
	}

	name := "it's a \\ \"campaign\"\nwith a newline"
	at := time.Date(2026, 3, 1, 9, 8, 7, 0, time.UTC)
	err = e.InsertRowSQL(c, "INSERT INTO campaigns (site_id, campaign_id, name, created, window_end, sends, recipient_key, link_key, updated)",
		"demo", "c1", name, at, at.AddDate(0, 0, 30), uint64(1200), "k1", "k2", at)
	if err != nil {
		t.Fatal(err)
	}
	var gotName string
	var gotCreated time.Time
	var sends uint64
	if err := storage.QueryRow(c, e, "SELECT name, created, sends FROM campaigns WHERE campaign_id = "+storage.Quote("c1"), &gotName, &gotCreated, &sends); err != nil {
		t.Fatal(err)
	}
	if gotName != name || !gotCreated.Equal(at) || sends != 1200 {
		t.Errorf("campaign row %q %v %d", gotName, gotCreated, sends)
	}
	if err := e.ExecSQL(c, "SELECT nonexistent_function_xyz()"); err == nil {
		t.Error("a bad statement gave no error")
	}
}
