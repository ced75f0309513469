package clickhouse

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
)

// TestShardOfAgreesWithClickHouse asks the real server for
// murmurHash3_64(toUInt64(x)) and for the shard index modulo 2, 3 and 5
// of many ids (edge values, small numbers and random 64-bit ids) and
// compares with the collector's own computation.
func TestShardOfAgreesWithClickHouse(t *testing.T) {
	srv := testenv.ClickHouse(t)
	ids := []uint64{0, 1, 2, 255, 256, 1 << 32, math.MaxUint32, math.MaxInt64, math.MaxUint64, math.MaxUint64 - 1}
	r := rand.New(rand.NewPCG(1, 2))
	for len(ids) < 2000 {
		ids = append(ids, r.Uint64())
	}
	lits := make([]string, len(ids))
	for i, id := range ids {
		lits[i] = fmt.Sprintf("toUInt64(%d)", id)
	}
	e, err := Open(context.Background(), Config{Addr: srv.Addr(), Database: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// A bound, not a measure: an 18.16 server on a loaded 2-core machine
	// once took over 30 s to answer this query.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	q := "SELECT x, murmurHash3_64(x), toUInt64(murmurHash3_64(x) % 2), toUInt64(murmurHash3_64(x) % 3), toUInt64(murmurHash3_64(x) % 5) FROM (SELECT arrayJoin([" +
		strings.Join(lits, ",") + "]) AS x)"
	rows, err := e.conn.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var x, h, m2, m3, m5 uint64
		if err := rows.Scan(&x, &h, &m2, &m3, &m5); err != nil {
			t.Fatal(err)
		}
		if x != ids[n] {
			t.Fatalf("row %d: id %d, sent %d", n, x, ids[n])
		}
		n++
		if got := murmurHash3_64(x); got != h {
			t.Errorf("murmurHash3_64(%d): collector %d, ClickHouse %d", x, got, h)
		}
		for shards, want := range map[int]uint64{2: m2, 3: m3, 5: m5} {
			if got := shardOf(x, shards); uint64(got) != want {
				t.Errorf("shardOf(%d, %d) = %d, ClickHouse %d", x, shards, got, want)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(ids) {
		t.Fatalf("ClickHouse returned %d rows for %d ids", n, len(ids))
	}
	t.Logf("%d ids agree with ClickHouse %v", n, e.ServerVersion())
}

func TestShardOfSpread(t *testing.T) {
	if shardOf(42, 1) != 0 || shardOf(42, 0) != 0 {
		t.Error("one shard (or none) must route to 0")
	}
	counts := make([]int, 4)
	r := rand.New(rand.NewPCG(3, 4))
	for range 40000 {
		counts[shardOf(r.Uint64(), 4)]++
	}
	for i, c := range counts {
		if c < 9000 || c > 11000 {
			t.Errorf("shard %d got %d of 40000 ids; want about 10000", i, c)
		}
	}
}

// shardOf is the 0-based index, in remote_servers order, of the shard that
// a Distributed table with sharding key murmurHash3_64(visitor_id) sends a
// row to when every shard has weight 1. A collector that writes to shards
// directly must agree with it, or a visitor's rows would split across
// shards.
func shardOf(visitorID uint64, shards int) int {
	if shards <= 1 {
		return 0
	}
	return int(murmurHash3_64(visitorID) % uint64(shards))
}
