// Package embedded is the storage.Engine that runs ClickHouse inside the
// process: chDB's libchdb.so (ClickHouse 26.7), loaded with dlopen at run
// time through cgo, on a data directory (./data by default). It is Mote's
// default storage, so that one binary runs with no database to install, and
// it runs the same migrations and SQL as storage/clickhouse
// (storage.Schema rendered for chDB's version: TTL, LowCardinality and the
// insert dedup window are on); the conformance suite in storage/enginetest
// runs against both.
//
// Library. libchdb.so ships in the npm package @chdb/lib-linux-x64-gnu
// (LibVersion, pinned in internal/versions), which `make chdb` fetches into
// ${XDG_CACHE_HOME:-$HOME/.cache}/mote/chdb/<version>/; cmd passes that
// path, or MOTE_CHDB_LIB, as Config.LibPath (this package reads no
// environment). The
// package has no header to compile against: the prototypes it calls are
// declared from chDB's public chdb.h of that version, and Open refuses a
// library whose chdb_version() differs. A missing or wrong library, and a
// data directory that cannot be written, fail Open with a message that says
// what to do.
//
// Signals. Before the first connection the engine calls
// chdb_set_signal_handlers_enabled(0), which stops chDB from installing its
// process-wide handlers (it otherwise replaces SIGSEGV, SIGBUS, SIGINT,
// SIGTERM, ... handlers with its own on connect), so the Go runtime keeps
// its handlers: panics, os/signal and the ordered shutdown in cmd work as
// without chDB. Query profilers, which rely on SIGUSR1/SIGUSR2 timers, are
// switched off in the connect arguments for the same reason.
//
// Connection. chDB runs one engine per process on one data directory, so
// every Engine in a process shares one connection (Engines differ by
// database, switched with USE), statements run one at a time, and the last
// Close closes it. Opening another directory in the same process fails.
// The connection starts with --max_part_loading_threads=1: after a SIGKILL
// with many active parts, chDB 26.7 was seen to abort in parallel part
// loading when the directory was opened again.
//
// Inserts. Events are encoded in RowBinary (rowbinary.go) and streamed with
// chdb_stream_insert_n / chdb_stream_append / chdb_stream_done, never inline
// in the query text (chdb_query_n cut inline RowBinary at the first
// "\n\n"). Each batch is one INSERT carrying the server engine's
// insert_deduplication_token and a max_insert_block_size that keeps it one
// block, so a batch is stored entirely or not at all, and a replay is
// stored once.
//
// Errors. ClickHouse exceptions become *Error values carrying ClickHouse's
// code and message (without the C++ stack trace).
//
// Limits: a statement that has started cannot be interrupted (contexts are
// honoured while waiting for the connection); Linux x86-64 with glibc only,
// as the npm package is; a binary built without cgo reports that the
// embedded engine needs cgo.
package embedded
