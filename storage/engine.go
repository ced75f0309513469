package storage

import (
	"context"
	"strconv"

	"github.com/mote-analytics/mote"
)

// Engine is a ClickHouse that Mote writes to and reads from. Implementations
// run the SQL of this package unchanged; they differ only in how they reach
// ClickHouse (native protocol to a server, or chDB in-process).
type Engine interface {
	// Migrate applies the embedded migrations not yet recorded in
	// schema_migrations. It is safe to call on every start.
	Migrate(ctx context.Context) error
	// InsertEvents writes events as one INSERT (one block, so it is stored
	// entirely or not at all) with every row's batch_id set to batchID and
	// an explicit column list (EventColumns). Where the server supports it,
	// the insert carries a deduplication token derived from batchID.
	InsertEvents(ctx context.Context, batchID uint64, events []mote.Event) error
	// BatchRows counts the rows stored under batchID. The Batcher asks it
	// after an insert whose outcome is uncertain, so that a replay never
	// stores a row twice.
	BatchRows(ctx context.Context, batchID uint64) (uint64, error)
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	Close() error
}

// DedupToken is the insert_deduplication_token of a batch. Batch ids are
// spool positions, so a retry of the same batch carries the same token.
// The row count is part of it because the server drops a block whose token
// it has seen even if the rows differ: should a position ever be reused for
// a batch of another size, that batch is stored rather than silently lost.
func DedupToken(batchID uint64, rows int) string {
	return "mote-" + strconv.FormatUint(batchID, 10) + "-" + strconv.Itoa(rows)
}
