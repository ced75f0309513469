package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// Direct shard writes (Config.DirectShardWrites). Instead of sending every
// batch to one server's Distributed table, which splits it by
// murmurHash3_64(visitor_id), forwards each part to its shard and waits
// (insert_distributed_sync), the engine splits the batch itself and
// inserts each part into <db>.events_local on its shard, all shards in
// parallel. That saves one network hop and one copy of every row, and no
// single server does the splitting for all collectors.
//
// The split must agree with the Distributed table exactly, or a visitor's
// rows would sit on two shards: shardRanges reproduces ClickHouse's
// weighted slots, and the layout (shards, weights, replicas) is read from
// system.clusters at Open. A layout change therefore needs a collector
// restart, as a Distributed table's does a server config reload.
//
// Each shard gets one connection pool listing all its replicas in
// remote_servers order: the driver dials the first that answers, so a dead
// replica is skipped. The host names in remote_servers must resolve from
// the collector.
//
// A batch is no longer one block, so it is no longer all-or-nothing: one
// shard may store its part while another fails. The Batcher's replay check
// (BatchRows) assumes that n stored rows are the batch's first n records,
// so the engine never lets a partly stored batch be counted: the parts
// that failed stay pending (their columns kept), and BatchRows of that
// batch sends them again before counting, as does InsertEvents of the same
// batch. A part sent twice is stored once: Replicated tables drop a block
// identical to a recent one (by checksum on every version; by
// insert_deduplication_token, one per batch and shard, from 22.2), and
// the split is deterministic, so a retried part is identical. What this
// cannot cover is a collector killed between two shards' inserts: the
// pending parts die with it, and the restarted Batcher counts a partial
// batch. The same window exists for an insert through a Distributed table,
// which is not atomic across shards either.
//
// Sessions rows still go through the Distributed sessions table (the
// Batcher inserts a batch's sessions rows there, before its events).

// shardConn is one shard's pool and column buffers.
type shardConn struct {
	num    int      // shard_num: 1-based, remote_servers order
	weight uint64   // rows routed here in proportion to it
	addrs  []string // replicas, host:port, in remote_servers order
	conn   driver.Conn
	cols   eventColumns // this shard's part of the current batch
	rows   int          // rows in cols
}

// direct is the engine's state for direct shard writes. It is used under
// Engine.insertMu.
type direct struct {
	shards    []*shardConn // index: shard_num - 1
	ranges    shardRanges
	route     []int  // shard index of each event of the current batch, reused
	insertSQL string // INSERT INTO `db`.events_local (...)
	countSQL  string // per-shard BatchRows, with %d for the batch id

	// pending is the batch whose parts on pendingShards failed; its
	// columns are still in those shards' cols.
	pending       uint64
	pendingRows   int
	pendingShards []int
}

// openDirect reads the cluster's layout from system.clusters of the first
// server that answers (on a connection without a database: Migrate may not
// have created it yet) and opens one pool per shard with cfg's credentials
// and settings.
func openDirect(ctx context.Context, cfg Config, db string) (*direct, error) {
	opt, _, err := cfg.options()
	if err != nil {
		return nil, err
	}
	opt.MaxOpenConns, opt.MaxIdleConns = 1, 1
	conn, err := ch.Open(opt)
	if err != nil {
		return nil, fmt.Errorf("read cluster layout: %w", err)
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, "SELECT toUInt64(shard_num), toUInt64(shard_weight), host_name, toUInt64(port) FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", cfg.Cluster)
	if err != nil {
		return nil, fmt.Errorf("read cluster layout: %w", err)
	}
	defer rows.Close()
	d := &direct{}
	for rows.Next() {
		var num, weight, port uint64
		var host string
		if err := rows.Scan(&num, &weight, &host, &port); err != nil {
			return nil, fmt.Errorf("read cluster layout: %w", err)
		}
		if num != uint64(len(d.shards)) && num != uint64(len(d.shards))+1 || num == 0 {
			return nil, fmt.Errorf("read cluster layout: shard_num %d after %d shards", num, len(d.shards))
		}
		if num > uint64(len(d.shards)) {
			d.shards = append(d.shards, &shardConn{num: int(num), weight: weight})
		}
		s := d.shards[num-1]
		s.addrs = append(s.addrs, net.JoinHostPort(host, strconv.FormatUint(port, 10)))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cluster layout: %w", err)
	}
	if len(d.shards) == 0 {
		return nil, fmt.Errorf("cluster %q is not in system.clusters of the first server", cfg.Cluster)
	}
	weights := make([]uint64, len(d.shards))
	for i, s := range d.shards {
		weights[i] = s.weight
	}
	if d.ranges = newShardRanges(weights); d.ranges == nil {
		return nil, fmt.Errorf("cluster %q: every shard has weight 0", cfg.Cluster)
	}
	for _, s := range d.shards {
		opt, _, err := cfg.options()
		if err != nil {
			d.close()
			return nil, err
		}
		opt.Addr = s.addrs
		opt.Auth.Database = db
		opt.ConnOpenStrategy = ch.ConnOpenInOrder
		opt.MaxOpenConns, opt.MaxIdleConns = 2, 2 // one insert and one count at a time
		if s.conn, err = ch.Open(opt); err != nil {
			d.close()
			return nil, fmt.Errorf("open shard %d %v: %w", s.num, s.addrs, err)
		}
	}
	d.insertSQL = strings.Replace(storage.InsertEventsSQL(), "INSERT INTO events ", "INSERT INTO `"+db+"`.events"+storage.LocalSuffix+" ", 1)
	d.countSQL = "SELECT count() FROM `" + db + "`.events" + storage.LocalSuffix + " WHERE batch_id = %d"
	return d, nil
}

// close closes every shard's pool.
func (d *direct) close() error {
	var errs []error
	for _, s := range d.shards {
		if s.conn != nil {
			if err := s.conn.Close(); err != nil {
				errs = append(errs, fmt.Errorf("shard %d: %w", s.num, err))
			}
		}
	}
	return errors.Join(errs...)
}

// layout describes the shards for logs: number, weight and replicas.
func (d *direct) layout() string {
	var b strings.Builder
	for i, s := range d.shards {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "shard %d weight %d %s", s.num, s.weight, strings.Join(s.addrs, ","))
	}
	return b.String()
}

// insertDirect splits events by shard and inserts the parts in parallel.
// The caller holds insertMu.
func (e *Engine) insertDirect(ctx context.Context, batchID uint64, events []mote.Event) error {
	d := e.direct
	if d.pendingShards != nil && d.pending == batchID && d.pendingRows != len(events) {
		return fmt.Errorf("insert batch %d: %d rows, but an attempt with %d rows is partly stored; BatchRows completes it", batchID, len(events), d.pendingRows)
	}
	// A new batch replaces any pending one: its caller gave up on it.
	d.pending, d.pendingRows, d.pendingShards = 0, 0, nil
	d.route = slices.Grow(d.route[:0], len(events))[:len(events)]
	for i := range events {
		d.route[i] = d.ranges.shard(events[i].VisitorID)
	}
	// Every part is built, and so every event checked, before any is sent.
	for si, s := range d.shards {
		if err := s.cols.fillShard(events, batchID, d.route, si); err != nil {
			for _, s := range d.shards {
				s.cols.release()
			}
			return fmt.Errorf("insert batch %d: %w", batchID, err)
		}
		s.rows = len(s.cols.batchID)
	}
	all := make([]int, 0, len(d.shards))
	for si, s := range d.shards {
		if s.rows > 0 {
			all = append(all, si)
		}
	}
	return e.sendParts(ctx, batchID, len(events), all)
}

// sendParts inserts the parts of batchID held by the shards listed, in
// parallel. Parts that fail stay pending; the others are released.
func (e *Engine) sendParts(ctx context.Context, batchID uint64, total int, shards []int) error {
	d := e.direct
	errs := make([]error, len(shards))
	var wg sync.WaitGroup
	for i, si := range shards {
		wg.Go(func() {
			s := d.shards[si]
			sctx := ctx
			if e.features.Dedup {
				sctx = ch.Context(ctx, ch.WithSettings(ch.Settings{
					"insert_deduplication_token": storage.DedupToken(batchID, total) + "-s" + strconv.Itoa(s.num),
				}))
			}
			if err := sendColumns(sctx, s.conn, d.insertSQL, &s.cols); err != nil {
				errs[i] = fmt.Errorf("shard %d (%d rows): %w", s.num, s.rows, err)
			}
		})
	}
	wg.Wait()
	var failed []int
	for i, si := range shards {
		if errs[i] != nil {
			failed = append(failed, si)
			d.shards[si].cols.own() // the caller may reuse its events
		} else {
			d.shards[si].cols.release()
		}
	}
	if failed == nil {
		d.pending, d.pendingRows, d.pendingShards = 0, 0, nil
		return nil
	}
	d.pending, d.pendingRows, d.pendingShards = batchID, total, failed
	return fmt.Errorf("insert batch %d (%d rows): %w", batchID, total, errors.Join(errs...))
}

// completePending sends again the parts of batchID that failed, if any.
func (e *Engine) completePending(ctx context.Context, batchID uint64) error {
	e.insertMu.Lock()
	defer e.insertMu.Unlock()
	d := e.direct
	if d.pendingShards == nil || d.pending != batchID {
		return nil
	}
	return e.sendParts(ctx, batchID, d.pendingRows, d.pendingShards)
}

// batchRowsDirect completes batchID if it is pending, then counts its rows
// on each shard, through the same pools (so the same replicas) that
// inserted them: a Distributed read may pick a replica that has not
// fetched the part yet.
func (e *Engine) batchRowsDirect(ctx context.Context, batchID uint64) (uint64, error) {
	if err := e.completePending(ctx, batchID); err != nil {
		return 0, fmt.Errorf("count rows of batch %d: complete it: %w", batchID, err)
	}
	var total uint64
	for _, s := range e.direct.shards {
		var n uint64
		if err := s.conn.QueryRow(ctx, fmt.Sprintf(e.direct.countSQL, batchID)).Scan(&n); err != nil {
			return 0, fmt.Errorf("count rows of batch %d on shard %d: %w", batchID, s.num, err)
		}
		total += n
	}
	return total, nil
}

// sendColumns inserts cols as one block.
func sendColumns(ctx context.Context, conn driver.Conn, insertSQL string, cols *eventColumns) error {
	batch, err := conn.PrepareBatch(ctx, insertSQL)
	if err != nil {
		return err
	}
	for i, col := range cols.columns() {
		if err := batch.Column(i).Append(col); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("column %s: %w", storage.EventColumns[i], err)
		}
	}
	return batch.Send()
}

// own copies the props slices, the only parts of the columns that point
// into memory a caller reuses (strings are immutable), so that a pending
// part stays intact after InsertEvents returned.
func (c *eventColumns) own() {
	for i := range c.propKeys {
		c.propKeys[i] = slices.Clone(c.propKeys[i])
		c.propValues[i] = slices.Clone(c.propValues[i])
	}
}
