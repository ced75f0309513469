package storage

// This file states what storage asks of an engine and what it answers:
// the interfaces storage/clickhouse and storage/embedded implement, the
// result type of a query, and the errors a caller may test for. The rest
// of the package (schema, Batcher, sessions, campaigns, salts...) and
// storage/stats are written against these alone.

import (
	"context"
	"errors"
	"strconv"

	"github.com/mote-analytics/mote"
)

// Engine is a ClickHouse that Mote writes to and reads from. Implementations
// run the SQL of this package unchanged; they differ only in how they reach
// ClickHouse (native protocol to a server, or chDB in-process).
type Engine interface {
	// SQL: the Batcher counts and inserts a batch's sessions rows through
	// it (sessionBatchRows, InsertSessionRows), as the rest of storage does.
	SQL
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

// OpenMigrated opens an engine with open and migrates it, closing it again
// when the migration fails: an engine is used only once its schema is
// current (the Link's connect, the benchmarks).
func OpenMigrated[E Engine](ctx context.Context, open func(context.Context) (E, error)) (E, error) {
	var none E
	eng, err := open(ctx)
	if err != nil {
		return none, err
	}
	if err := eng.Migrate(ctx); err != nil {
		eng.Close()
		return none, err
	}
	return eng, nil
}

// DedupToken is the insert_deduplication_token of a batch. Batch ids are
// spool positions, so a retry of the same batch carries the same token.
// The row count is part of it because the server drops a block whose token
// it has seen even if the rows differ: should a position ever be reused for
// a batch of another size, that batch is stored rather than silently lost.
func DedupToken(batchID uint64, rows int) string {
	return "mote-" + strconv.FormatUint(batchID, 10) + "-" + strconv.Itoa(rows)
}

// SQL is the statement and query access both engines give, in the one
// ClickHouse dialect they share. The dashboards' queries, campaigns,
// retention, erasure and the salts table go through it, so that every
// caller runs unchanged on chDB and on a ClickHouse server.
//
// Query text never carries a secret or a visitor's data: literals in it are
// site ids, dates and names, quoted with Quote. Secrets (salts, campaign
// keys) travel as data through InsertRowSQL.
type SQL interface {
	// ExecSQL runs one statement that returns no rows.
	ExecSQL(ctx context.Context, query string) error
	// QuerySQL runs one query and returns its whole result. Callers read
	// aggregates: results are small.
	QuerySQL(ctx context.Context, query string) (*Rows, error)
	// InsertRowSQL runs insert (an INSERT statement with a column list
	// and no data) with values as its single row, sent as data.
	InsertRowSQL(ctx context.Context, insert string, values ...any) error
	// InsertRowsSQL runs insert with rows as its data, in one block.
	// (A server engine cannot take rows inline in an INSERT's text over
	// the native protocol, so multi-row inserts go through here.)
	InsertRowsSQL(ctx context.Context, insert string, rows [][]any) error
}

// Rows is a query result in memory. Each value is one of: nil (NULL),
// string, int64, uint64, float64, time.Time (UTC) or []any (an Array),
// whichever engine produced it; Types holds ClickHouse's type names.
type Rows struct {
	Columns []string
	Types   []string
	Values  [][]any
}

// Clustered is implemented by an engine that may run on a ClickHouse
// cluster; Cluster returns the cluster's name, "" on a single server, and
// Database the database its tables are in on every node.
type Clustered interface {
	Cluster() string
	Database() string
}

// SessionInserter is implemented by engines with a fast path for
// sessions rows (a columnar block, RowBinary); InsertSessionRows uses it
// when its SQL has it, else InsertRowsSQL.
type SessionInserter interface {
	InsertSessions(ctx context.Context, rows []mote.SessionRow) error
}

// SessionScanner is implemented by engines that read a SELECT of
// activeSessionCols without boxing every value (the embedded engine reads
// RowBinary): the rebuild at start reads a row per active visit, a
// million on a busy site.
type SessionScanner interface {
	ScanSessions(ctx context.Context, query string, fn func(*mote.SessionRow)) error
}

// SuppressedWriter is an engine that can add suppression counts; the
// suppressed table sums the rows it receives. Both engines implement it
// with InsertSuppressed.
type SuppressedWriter interface {
	InsertSuppressed(ctx context.Context, rows []SuppressedCount) error
}

// Errors callers test for with errors.Is.
var (
	// ErrUnavailable marks an error as "the store cannot be reached right
	// now" (not connected yet, or down), as opposed to a failed query: readers
	// such as the stats API answer 503 for it, so that a client retries later.
	ErrUnavailable = errors.New("storage unavailable")

	// ErrNoRows is returned by QueryRow for a query that returned no row.
	ErrNoRows = errors.New("query returned no rows")

	// ErrNoCampaign is returned for a campaign id the table does not hold.
	ErrNoCampaign = errors.New("no such campaign")

	// ErrNoShareLink is returned for a link id the table does not hold.
	ErrNoShareLink = errors.New("no such share link")
)
