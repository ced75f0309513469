// Package storage owns everything between an accepted hit and a ClickHouse
// row: the schema (numbered, embedded .sql migrations rendered for the
// server's version and, in cluster mode, as Replicated local tables under
// Distributed ones), the write-ahead Spool that makes an accepted hit
// durable before it is answered, the Batcher that tails the spool and
// inserts columnar batches, and the Engine interface that the concrete
// engines implement (storage/clickhouse for a server or cluster,
// storage/embedded for chDB in-process). Both engines run the same SQL.
//
// Beyond inserting events, everything goes through SQL (sql.go), which both
// engines implement with engine-neutral result values, so each of these is
// written once and checked on both engines by storage/enginetest:
//
//   - Salts: the RAM-only salts table behind enrich's salt keeper;
//   - SessionWriter: the session cache's cancel/state rows, batched, with
//     a fast path per engine (SessionInserter);
//   - Suppressions: the anonymous (site, day, reason) counters;
//   - stats*.go: the dashboard's aggregate, timeseries, breakdown,
//     realtime, goals and privacy queries;
//   - Campaigns and the campaign report, share links;
//   - EnforceRetention and Copy (mote storage copy).
//
// Query text never carries a secret or a visitor's data (see SQL); secrets
// travel as insert data.
package storage
