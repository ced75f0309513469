// Package storage is Mote's write side between the spool and ClickHouse,
// and the contracts every engine meets:
//
//   - engine.go states them in one place: Engine, SQL and the optional
//     fast paths an engine may offer, the Rows a query returns, and the
//     errors callers test for. storage/clickhouse (a server or cluster)
//     and storage/embedded (chDB in-process) implement them and run the
//     same SQL;
//   - the schema: numbered, embedded .sql migrations rendered for the
//     server's version and, in cluster mode, as Replicated local tables
//     under Distributed ones;
//   - the Batcher, which tails storage/spool and inserts columnar batches
//     of events and of the sessions rows spooled with them (sessions.go:
//     exactly once under the batch id; the rebuild reads of a starting
//     collector, ActiveSessions and SpoolSessions);
//   - the small tables written through SQL: Salts (RAM-only, behind
//     enrich's salt keeper), Suppressions (anonymous (site, day, reason)
//     counters), Campaigns, share links; EnforceRetention and Copy (mote
//     storage copy).
//
// The write-ahead spool is storage/spool and the dashboard's queries are
// storage/stats. Every engine-facing behaviour is checked on both engines
// by storage/enginetest. Query text never carries a secret or a visitor's
// data (see SQL); secrets travel as insert data.
package storage
