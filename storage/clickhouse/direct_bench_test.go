package clickhouse

import (
	"context"
	"fmt"
	"testing"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
)

// BenchmarkClusterInsert compares inserting 10,000-row batches through the
// Distributed events table (insert_distributed_sync) with direct shard
// writes, on a local cluster of 2 shards × 2 replicas (ZooKeeper and four
// servers on this machine).
func BenchmarkClusterInsert(b *testing.B) {
	c := testenv.StartCluster(b, 2, 2)
	ctx := context.Background()
	const db = "mote_bench"
	events := make([]mote.Event, 10_000)
	for i := range events {
		events[i] = fullEvent(i)
		events[i].VisitorID = uint64(i) * 0x9E3779B97F4A7C15
	}
	for _, direct := range []bool{false, true} {
		name := "distributed"
		if direct {
			name = "direct"
		}
		b.Run(fmt.Sprintf("%s/rows=%d", name, len(events)), func(b *testing.B) {
			e, err := Open(ctx, Config{DSN: c.DSN(db), Cluster: testenv.ClusterName, DirectShardWrites: direct})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			if err := e.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			base := uint64(1) << 40
			if direct {
				base *= 2
			}
			b.ResetTimer()
			for i := range b.N {
				// A new batch id per insert: an identical block would be
				// deduplicated by the Replicated table.
				if err := e.InsertEvents(ctx, base+uint64(i), events); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
