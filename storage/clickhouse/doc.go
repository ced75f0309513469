// Package clickhouse is the storage.Engine for a ClickHouse server, spoken
// to with clickhouse-go/v2 over the native protocol.
//
// Open detects the server version (SELECT version()) and renders the
// embedded schema for it (storage.Schema), so the same engine runs against
// Debian's 18.16 in tests and against modern servers in production; only
// the version-gated DDL and the insert_deduplication_token differ.
//
// Every insert names its columns (storage.EventColumns) and sends one
// columnar block per batch, which is both the fastest path and what old
// servers need. Data never travels inline in SQL text: an INSERT ... VALUES
// over the native protocol makes an old server wait for a data block.
//
// In cluster mode the block goes to the Distributed events table, or, with
// Config.DirectShardWrites, one block per shard straight into the shards'
// events_local tables, routed as the Distributed table would route them
// (shard.go, direct.go).
package clickhouse
