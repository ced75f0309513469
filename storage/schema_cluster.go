package storage

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
)

// Cluster mode. The migrations name their tables and engines through three
// template functions, so one file renders both for a single server and for
// a ClickHouse cluster:
//
//	CREATE TABLE IF NOT EXISTS {{table "events"}} (...)
//	ENGINE = {{engine "events" "MergeTree"}}
//	...;{{distributed "events" "murmurHash3_64(visitor_id)"}}
//
// On a single server they render "events", "MergeTree" and nothing: the
// output is byte for byte what the files said before cluster mode existed
// (the golden files in testdata/ hold it).
//
// In a cluster (Schema.Cluster set) the same lines render a replicated
// local table and a Distributed table over it that takes the table's
// name, so every query and insert elsewhere stays the same:
//
//	CREATE TABLE IF NOT EXISTS `db`.events_local ON CLUSTER `c` (...)
//	ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/events', '{replica}')
//	...;
//	CREATE TABLE IF NOT EXISTS `db`.events ON CLUSTER `c` AS `db`.events_local
//	ENGINE = Distributed('c', 'db', 'events_local', murmurHash3_64(visitor_id))
//
// The {shard} and {replica} macros come from each server's configuration
// (deploy/clickhouse/cluster/nodes). The database name is written into the
// Keeper path literally rather than as the {database} macro, which old
// servers (the Debian 18.16 test server) do not expand.
//
// Sharding by murmurHash3_64(visitor_id) keeps a visitor's events and
// sessions on one shard, so per-visitor aggregates (uniq, sessions) are
// computed shard-locally. The collector can compute the same shard itself
// (storage/clickhouse's shardOf).
//
// Tables without template calls (salts) are created plainly, on the one
// server the migrating connection reaches: the salts table is a Memory
// table on the first host of the DSN, never replicated (see the README,
// "Outgrowing one machine").

// LocalSuffix is appended to a table's name for its per-server table in
// cluster mode.
const LocalSuffix = "_local"

// KeeperPath is the coordination path of a replicated table; {shard} and
// {replica} are server macros.
func KeeperPath(database, table string) string {
	return "/clickhouse/tables/{shard}/" + database + "/" + table
}

// clusterFuncs adds table, engine, distributed, alterDistributed and drop
// to funcs, and in cluster mode replaces dedup: a Replicated table
// deduplicates retried blocks by checksum on every server version, within
// replicated_deduplication_window blocks (insert_deduplication_token, from
// 22.2, names the block instead).
func (s Schema) clusterFuncs(funcs template.FuncMap, window int) error {
	if s.Cluster == "" {
		funcs["table"] = func(name string) string { return name }
		funcs["engine"] = func(_, spec string) string { return spec }
		funcs["distributed"] = func(_, _ string) string { return "" }
		funcs["alterDistributed"] = func(_, _ string) string { return "" }
		funcs["drop"] = func(table string) string { return "DROP TABLE IF EXISTS " + table + ";" }
		return nil
	}
	if !clusterName(s.Cluster) {
		return fmt.Errorf("cluster name %q: want letters, digits, '_' and '-'", s.Cluster)
	}
	if !clusterName(s.Database) || strings.Contains(s.Database, "-") {
		return errors.New("cluster mode needs the database name (letters, digits and '_')")
	}
	db, cl := "`"+s.Database+"`", "`"+s.Cluster+"`"
	funcs["table"] = func(name string) string {
		return db + "." + name + LocalSuffix + " ON CLUSTER " + cl
	}
	funcs["engine"] = func(table, spec string) string {
		name, args, _ := strings.Cut(spec, "(")
		args = strings.TrimSuffix(args, ")")
		out := "Replicated" + name + "('" + KeeperPath(s.Database, table) + "', '{replica}'"
		if strings.TrimSpace(args) != "" {
			out += ", " + args
		}
		return out + ")"
	}
	funcs["distributed"] = func(table, key string) string {
		return fmt.Sprintf("\nCREATE TABLE IF NOT EXISTS %s.%s ON CLUSTER %s AS %s.%s%s\nENGINE = Distributed('%s', '%s', '%s%s', %s);",
			db, table, cl, db, table, LocalSuffix, s.Cluster, s.Database, table, LocalSuffix, key)
	}
	// alterDistributed makes a Distributed table follow an ALTER of its
	// local table. ClickHouse 18.16 refuses ALTER ... ON CLUSTER on a
	// Distributed table over replicated shards, so the table is created
	// again from the local one: it holds no data of its own (the engine
	// inserts through it synchronously), and CREATE ... AS copies the new
	// columns. The clause (the local table's ALTER) is not needed here.
	funcs["alterDistributed"] = func(table, key string) string {
		return fmt.Sprintf("\nDROP TABLE IF EXISTS %s.%s ON CLUSTER %s;", db, table, cl) + funcs["distributed"].(func(string, string) string)(table, key)
	}
	// drop removes a table a migration replaced: the routing table and
	// the shards' tables.
	funcs["drop"] = func(table string) string {
		return fmt.Sprintf("DROP TABLE IF EXISTS %s.%s ON CLUSTER %s;\nDROP TABLE IF EXISTS %s.%s%s ON CLUSTER %s;", db, table, cl, db, table, LocalSuffix, cl)
	}
	funcs["dedup"] = func() string {
		return fmt.Sprintf(", replicated_deduplication_window = %d", window)
	}
	return nil
}

// CreateDatabaseSQL is the statement that creates the schema's database
// (on every server of the cluster in cluster mode).
func (s Schema) CreateDatabaseSQL() string {
	q := "CREATE DATABASE IF NOT EXISTS `" + s.Database + "`"
	if s.Cluster != "" {
		q += " ON CLUSTER `" + s.Cluster + "`"
	}
	return q
}

// clusterName accepts names that are safe inside backquotes and quotes.
func clusterName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
