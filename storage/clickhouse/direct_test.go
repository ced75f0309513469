package clickhouse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
)

// weightedClusters are remote_servers entries over the same three servers
// with unequal weights: total 6 (not a power of two), total 4 (ClickHouse
// masks instead of taking the remainder) and a shard of weight 0.
var weightedClusters = map[string][]uint64{
	"w": {3, 1, 2},
	"p": {1, 2, 1},
	"z": {1, 0, 2},
}

// TestShardOfWeightsAgreeWithDistributed starts three plain servers (no
// ZooKeeper: Distributed tables over Memory and MergeTree tables need
// none) whose remote_servers hold weightedClusters. For each cluster it
// inserts 3,000 ids through a Distributed table with sharding key
// murmurHash3_64(x) and checks that every id sits on the shard
// shardRanges picks. Then an engine with DirectShardWrites on cluster "w"
// reads the layout from system.clusters, inserts events with the same ids
// as visitor IDs, and each shard's events_local must hold exactly the ids
// the Distributed table put there. Last, one shard is down during an
// insert: the batch fails, BatchRows (after the shard is back) completes
// it, and no row is stored twice.
func TestShardOfWeightsAgreeWithDistributed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srvs := startWeighted(t, ctx)
	const db = "weights"
	ids := make([]uint64, 3000)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range ids {
		ids[i] = r.Uint64()
	}
	lits := make([]string, len(ids))
	for i, id := range ids {
		lits[i] = fmt.Sprintf("toUInt64(%d)", id)
	}
	for _, srv := range srvs {
		e, err := Open(ctx, Config{Addr: srv.Addr(), Database: db})
		if err != nil {
			t.Fatal(err)
		}
		err = e.Migrate(ctx) // a single-server schema; events_local is a copy of events
		if err == nil {
			err = e.conn.Exec(ctx, "CREATE TABLE "+db+".events_local AS "+db+".events")
		}
		for name := range weightedClusters {
			if err == nil {
				err = e.conn.Exec(ctx, "CREATE TABLE "+db+".ids_"+name+" (x UInt64) ENGINE = Memory")
			}
		}
		e.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	first, err := Open(ctx, Config{Addr: srvs[0].Addr(), Database: db, Cluster: "w"}) // insert_distributed_sync
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	placed := map[uint64]int{} // cluster w: id -> server the Distributed table chose
	for name, weights := range weightedClusters {
		ranges := newShardRanges(weights)
		dist := db + ".dist_" + name
		if err := first.conn.Exec(ctx, fmt.Sprintf("CREATE TABLE %s AS %s.ids_%s ENGINE = Distributed(%s, %s, ids_%s, murmurHash3_64(x))", dist, db, name, name, db, name)); err != nil {
			t.Fatal(err)
		}
		if err := first.conn.Exec(ctx, "INSERT INTO "+dist+" SELECT arrayJoin(["+strings.Join(lits, ",")+"])"); err != nil {
			t.Fatal(err)
		}
		total, wrong := 0, 0
		for s, srv := range srvs {
			got := idsOn(t, ctx, srv, "SELECT x FROM "+db+".ids_"+name)
			total += len(got)
			for _, x := range got {
				if ranges.shard(x) != s {
					wrong++
				}
				if name == "w" {
					placed[x] = s
				}
			}
			if weights[s] == 0 && len(got) != 0 {
				t.Errorf("cluster %s: shard %d has weight 0 but got %d ids", name, s+1, len(got))
			}
		}
		if total != len(ids) || wrong != 0 {
			t.Errorf("cluster %s weights %v: %d ids stored, %d on another shard than shardRanges picks", name, weights, total, wrong)
		}
		t.Logf("cluster %s weights %v: %d ids, %d disagree", name, weights, total, wrong)
	}

	// Direct writes on cluster w, layout from system.clusters.
	e, err := Open(ctx, Config{DSN: "clickhouse://" + srvs[0].Addr() + "/" + db, Cluster: "w", DirectShardWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var weights []uint64
	for s, sh := range e.direct.shards {
		weights = append(weights, sh.weight)
		if sh.num != s+1 || len(sh.addrs) != 1 || sh.addrs[0] != srvs[s].Addr() {
			t.Errorf("shard %d from system.clusters: num %d, replicas %v; want %s", s+1, sh.num, sh.addrs, srvs[s].Addr())
		}
	}
	if !slices.Equal(weights, weightedClusters["w"]) {
		t.Fatalf("weights from system.clusters %v, want %v", weights, weightedClusters["w"])
	}
	day := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	events := make([]mote.Event, len(ids))
	for i, id := range ids {
		events[i] = mote.Event{SiteID: "w", TS: day, Kind: mote.KindPageview, Hostname: "example.com", Pathname: "/", VisitorID: id,
			PropKeys: []string{"k"}, PropValues: []string{fmt.Sprint(i)}}
	}
	if err := e.InsertEvents(ctx, 7, events); err != nil {
		t.Fatal(err)
	}
	for s, srv := range srvs {
		got := idsOn(t, ctx, srv, "SELECT visitor_id FROM "+db+".events_local")
		wrong := 0
		for _, x := range got {
			if placed[x] != s {
				wrong++
			}
		}
		want := 0
		for _, p := range placed {
			if p == s {
				want++
			}
		}
		if len(got) != want || wrong != 0 {
			t.Errorf("shard %d: %d rows written directly, %d where the Distributed table put none; want %d", s+1, len(got), wrong, want)
		}
	}
	if n, err := e.BatchRows(ctx, 7); err != nil || n != uint64(len(ids)) {
		t.Errorf("BatchRows(7) = %d, %v; want %d", n, err, len(ids))
	}

	// Shard 2 down: the batch fails; BatchRows completes it once it is back.
	if err := srvs[1].Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range events {
		events[i].TS = day.Add(time.Hour)
	}
	if err := e.InsertEvents(ctx, 8, events); err == nil {
		t.Fatal("insert with shard 2 down succeeded")
	} else {
		t.Logf("insert with shard 2 down: %v", err)
	}
	for i := range events { // the Batcher reuses its rows' props slices
		events[i].PropValues[0] = "reused"
	}
	if _, err := e.BatchRows(ctx, 8); err == nil {
		t.Error("BatchRows of a partly stored batch answered while a shard is down")
	}
	if err := srvs[1].Start(); err != nil {
		t.Fatal(err)
	}
	if n, err := e.BatchRows(ctx, 8); err != nil || n != uint64(len(ids)) {
		t.Errorf("BatchRows(8) after the shard came back = %d, %v; want %d", n, err, len(ids))
	}
	var dist, distinct, reused uint64
	q := "SELECT count(), uniqExact(visitor_id), countIf(props.value[1] = 'reused') FROM " + db + ".events_local WHERE batch_id = 8"
	for _, srv := range srvs {
		o, err := Open(ctx, Config{Addr: srv.Addr(), Database: db, MaxOpenConns: 1})
		if err != nil {
			t.Fatal(err)
		}
		var n, u, ru uint64
		err = o.conn.QueryRow(ctx, q).Scan(&n, &u, &ru)
		o.Close()
		if err != nil {
			t.Fatal(err)
		}
		dist, distinct, reused = dist+n, distinct+u, reused+ru
	}
	if dist != uint64(len(ids)) || distinct != uint64(len(ids)) || reused != 0 {
		t.Errorf("batch 8: %d rows, %d distinct visitors, %d with props changed after the failed insert; want %d, %d, 0", dist, distinct, reused, len(ids), len(ids))
	}
}

// startWeighted starts three servers whose remote_servers hold
// weightedClusters.
func startWeighted(t *testing.T, ctx context.Context) []*testenv.Server {
	t.Helper()
	root := t.TempDir()
	ports := make([]int, 3)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	var x strings.Builder
	x.WriteString("<?xml version=\"1.0\"?>\n<yandex><remote_servers>\n")
	for name, weights := range weightedClusters {
		x.WriteString("<" + name + ">")
		for i, w := range weights {
			fmt.Fprintf(&x, "<shard><weight>%d</weight><replica><host>127.0.0.1</host><port>%d</port></replica></shard>", w, ports[i])
		}
		x.WriteString("</" + name + ">\n")
	}
	x.WriteString("</remote_servers></yandex>\n")
	type started struct {
		i   int
		srv *testenv.Server
		err error
	}
	ch := make(chan started)
	for i, port := range ports {
		dir := filepath.Join(root, fmt.Sprint("s", i+1))
		if err := os.MkdirAll(filepath.Join(dir, "config.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.d", "weights.xml"), []byte(x.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		go func() {
			srv, err := testenv.StartServer(ctx, testenv.Config{Dir: dir, TCPPort: port})
			ch <- started{i, srv, err}
		}()
	}
	srvs := make([]*testenv.Server, len(ports))
	var errs []string
	for range ports {
		st := <-ch
		if st.err != nil {
			errs = append(errs, st.err.Error())
			continue
		}
		srvs[st.i] = st.srv
		t.Cleanup(func() { _ = st.srv.Stop() })
	}
	if errs != nil {
		t.Fatalf("start servers: %s", strings.Join(errs, "; "))
	}
	return srvs
}

// idsOn returns the UInt64 column a query selects on one server.
func idsOn(t *testing.T, ctx context.Context, srv *testenv.Server, q string) []uint64 {
	t.Helper()
	e, err := Open(ctx, Config{Addr: srv.Addr(), Database: "default", MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rows, err := e.conn.Query(ctx, q)
	if err != nil {
		t.Fatalf("%s on %s: %v", q, srv.Addr(), err)
	}
	defer rows.Close()
	var out []uint64
	for rows.Next() {
		var x uint64
		if err := rows.Scan(&x); err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
