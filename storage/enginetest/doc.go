// Package enginetest is the conformance suite of storage.Engine: the same
// test functions run against every engine (storage/clickhouse on a real
// server, storage/embedded on real chDB), so that "same schema, same SQL,
// same behaviour" is checked rather than hoped for. Each engine's tests call
// Run with a function that opens the engine on a fresh, empty database.
package enginetest
