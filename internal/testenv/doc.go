// Package testenv starts the real components that Mote's tests run against,
// never mocks: a ClickHouse server (Debian's clickhouse-server) on free
// loopback ports with a temporary data directory, a ClickHouse cluster
// (with ZooKeeper), the chDB library (ChDBLib) and the GeoLite2 City
// database (GeoLite2City), plus small GeoIP2 databases built for a test
// (WriteMMDB). A missing component fails the test, never skips it.
//
// A package's tests get a shared server with ClickHouse(t) (one per test
// binary, started on first use) and must run through Main from TestMain,
// which stops it when the tests end; a test that kills and restarts a server
// (an outage) takes a private one with StartClickHouse(t). Each test creates
// its own database with NewDatabase, so tests never see each other's rows.
//
// StartServer is the same machinery without testing.TB, used by
// cmd/clickhouse-dev to run a development server in the foreground.
//
// When clickhouse-server is missing, the tests fail (they do not skip) and
// say how to install it: `make test-deps` or `apt-get install
// clickhouse-server`.
package testenv
