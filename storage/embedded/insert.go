package embedded

import (
	"context"
	"fmt"
	"strings"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// InsertEvents writes events as one INSERT with every row's batch_id set
// to batchID, as one Native block (native.go) through chDB's streaming
// insert (chdb_stream_insert_n, chdb_stream_append, chdb_stream_done). The
// data never travels in the query text: RowBinary sent inline through
// chdb_query_n was cut at the first "\n\n" byte pair, which ClickHouse
// takes for the end of inline data, and the query text is capped by
// max_query_size.
//
// The insert carries the same insert_deduplication_token as the server
// engine's (storage.DedupToken), so a batch replayed within the dedup
// window is stored once, and max_insert_block_size is raised to the batch
// size so that the batch forms one block: stored entirely or not at all.
//
// An event with an undeclared Kind, props keys and values of different
// lengths or a time outside DateTime's range fails the whole batch before
// anything is sent.
func (e *Engine) InsertEvents(ctx context.Context, batchID uint64, events []mote.Event) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		if err := checkEvent(&events[i]); err != nil {
			return fmt.Errorf("insert batch %d: event %d: %w", batchID, i, err)
		}
	}
	e.insertMu.Lock()
	defer e.insertMu.Unlock()
	types, err := e.nativeTypes(ctx)
	if err != nil {
		return fmt.Errorf("insert batch %d: %w", batchID, err)
	}
	buf := e.block.appendEvents(e.buf[:0], types, events, batchID)
	e.buf = buf[:0]
	q := e.insertQuery(batchID, len(events))
	err = e.run(ctx, true, func(c *conn) error {
		_, err := c.insert(q, "Native", buf)
		return err
	})
	if err != nil {
		return fmt.Errorf("insert batch %d (%d rows): %w", batchID, len(events), err)
	}
	return nil
}

// minInsertBlock is ClickHouse's default max_insert_block_size; a batch
// smaller than it forms one block anyway.
const minInsertBlock = 1_048_449

func (e *Engine) insertQuery(batchID uint64, rows int) string {
	var b strings.Builder
	b.WriteString(e.insertSQL)
	fmt.Fprintf(&b, " SETTINGS max_insert_block_size = %d", max(rows, minInsertBlock))
	if e.features.Dedup {
		fmt.Fprintf(&b, ", insert_deduplication_token = '%s'", storage.DedupToken(batchID, rows))
	}
	return b.String()
}

// ReadEvents returns the events stored under batchID, ordered like the
// table (site, day, visitor, time). It reads them in RowBinary, so every
// string comes back byte for byte; `mote storage copy` moves data batch by
// batch with it.
func (e *Engine) ReadEvents(ctx context.Context, batchID uint64) ([]mote.Event, error) {
	q := fmt.Sprintf("SELECT %s FROM events WHERE batch_id = %d ORDER BY site_id, toDate(ts), visitor_id, ts",
		quotedColumns(), batchID)
	out, err := e.Query(ctx, q, "RowBinary")
	if err != nil {
		return nil, fmt.Errorf("read batch %d: %w", batchID, err)
	}
	events, err := decodeEvents(out)
	if err != nil {
		return nil, fmt.Errorf("read batch %d: %w", batchID, err)
	}
	return events, nil
}
