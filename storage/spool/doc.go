// Package spool is Mote's write-ahead log: the segment files that make an
// accepted hit durable before the collector answers it, their recovery at
// open, the Reader that tails them, the checkpoint that records what has
// been stored, the lock that keeps one process per directory, and the
// record codec (record.go) that turns a mote.Event into the bytes of one
// frame and back.
//
// It knows files and events, not SQL: storage.Batcher reads it and writes
// to an engine. Like VictoriaMetrics' lib/persistentqueue and Prometheus'
// tsdb/wlog with tsdb/record, it is small enough to be tested alone, and
// its on-disk format is described in spool.go and record.go.
package spool
