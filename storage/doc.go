// Package storage owns everything between an accepted hit and a ClickHouse
// row: the schema (numbered, embedded .sql migrations rendered for the
// server's version), the write-ahead Spool that makes an accepted hit
// durable before it is answered, the Batcher that tails the spool and
// inserts columnar batches, and the Engine interface that the concrete
// engines implement (storage/clickhouse for a server or cluster,
// storage/embedded for chDB in-process). Both engines run the same SQL.
package storage
