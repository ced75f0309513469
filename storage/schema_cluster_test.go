package storage

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var clusterSchema = Schema{Cluster: "mote", Database: "analytics"}

func renderSchema(t *testing.T, s Schema) []Migration {
	t.Helper()
	ms, err := s.Migrations()
	if err != nil {
		t.Fatalf("render %+v: %v", s, err)
	}
	return ms
}

// TestClusterSchemaGolden keeps the cluster DDL reviewable: any change to
// it shows up as a diff of testdata/schema_cluster_*.sql. (The single-server
// rendering is held byte for byte by TestSchemaGolden.)
func TestClusterSchemaGolden(t *testing.T) {
	for _, v := range []ServerVersion{oldServer, modernServer} {
		t.Run(v.String(), func(t *testing.T) {
			s := clusterSchema
			s.Server = v
			var b strings.Builder
			for _, m := range renderSchema(t, s) {
				b.WriteString("-- ===== " + m.Name + " =====\n")
				for _, st := range m.Statements {
					b.WriteString(st + ";\n\n")
				}
			}
			got := b.String()
			golden := filepath.Join("testdata", "schema_cluster_"+v.String()+".sql")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("cluster DDL for %v differs from %s (run with -update if intended)\n%s", v, golden, got)
			}
		})
	}
}

// TestClusterSchemaShape checks the properties cluster mode relies on,
// table by table: a replicated local table and a Distributed table under
// the plain name with the right sharding key, everything ON CLUSTER and
// idempotent, and the salts table left alone (one Memory table, RAM only).
func TestClusterSchemaShape(t *testing.T) {
	for _, v := range []ServerVersion{oldServer, modernServer} {
		s := clusterSchema
		s.Server = v
		single := renderSchema(t, Schema{Server: v})
		ms := renderSchema(t, s)
		if len(ms) != len(single) {
			t.Fatalf("%v: %d cluster migrations, %d single", v, len(ms), len(single))
		}
		keys := map[string]string{
			"schema_migrations": "toUInt64(version)",
			"events":            "murmurHash3_64(visitor_id)",
			"sessions":          "murmurHash3_64(visitor_id)",
			"suppressed":        "cityHash64(site_id, reason)",
			"campaigns":         "cityHash64(site_id, campaign_id)",
			"share_links":       "cityHash64(site_id, link_id)",
			// Summaries: a day's rows of every generation on one shard.
			"daily_stats_changes":  "cityHash64(site_id)",
			"daily_stats_done":     "cityHash64(site_id)",
			"daily_stats_slots":    "cityHash64(site_id)",
			"daily_stats_prefixes": "cityHash64(site_id)",
			"daily_stats":          "cityHash64(site_id, day)",
			"day_counts":           "cityHash64(site_id)",
		}
		local := regexp.MustCompile("(?s)^(\\s*--[^\\n]*\\n)*\\s*CREATE TABLE IF NOT EXISTS `analytics`\\.(\\w+)_local ON CLUSTER `mote`\\s*\\(.*\\nENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/analytics/(\\w+)', '\\{replica\\}'")
		for i, m := range ms {
			if m.Name == "salts" {
				if strings.Join(m.Statements, "\n") != strings.Join(single[i].Statements, "\n") || !strings.Contains(m.Statements[0], "ENGINE = Memory") {
					t.Errorf("%v: salts must render as on a single server (a Memory table on one node):\n%s", v, m.Statements)
				}
				continue
			}
			if m.Name == "sessions_batch_id" {
				want := []string{
					"ALTER TABLE `analytics`.sessions_local ON CLUSTER `mote` ADD COLUMN batch_id UInt64",
					"ALTER TABLE `analytics`.sessions_local ON CLUSTER `mote` ADD COLUMN spool_id UInt64",
					"DROP TABLE IF EXISTS `analytics`.sessions ON CLUSTER `mote`",
					"CREATE TABLE IF NOT EXISTS `analytics`.sessions ON CLUSTER `mote` AS `analytics`.sessions_local\n" +
						"ENGINE = Distributed('mote', 'analytics', 'sessions_local', murmurHash3_64(visitor_id))",
				}
				got := m.Statements
				if len(got) == 4 {
					got[0] = got[0][strings.Index(got[0], "ALTER"):]
				}
				if strings.Join(got, "\n;\n") != strings.Join(want, "\n;\n") {
					t.Errorf("%v %s:\n%s\nwant\n%s", v, m.Name, strings.Join(got, ";\n"), strings.Join(want, ";\n"))
				}
				continue
			}
			tables, stmts := []string{m.Name}, m.Statements
			if m.Name == "daily_stats" {
				// Three tables, then the changed-days backfill, which
				// goes through the Distributed tables as is.
				tables = []string{"daily_stats_changes", "daily_stats_done", "daily_stats"}
				if len(stmts) != 7 || !strings.HasPrefix(stmts[6][strings.Index(stmts[6], "INSERT"):], "INSERT INTO daily_stats_changes ") {
					t.Fatalf("%v %s: want 3 local and Distributed tables and the backfill, got\n%s", v, m.Name, strings.Join(stmts, ";\n"))
				}
				stmts = stmts[:6]
			}
			if m.Name == "day_prefixes" {
				// Two tables, the counters' copy and backfill through
				// the Distributed tables, and the replaced table's
				// drop, routing table and shards' tables.
				tables = []string{"daily_stats_slots", "daily_stats_prefixes"}
				wantTail := []string{
					"INSERT INTO daily_stats_slots (site_id, slot, n, hits)\nSELECT site_id, slot, sum(n), toUInt64(0) FROM daily_stats_changes GROUP BY site_id, slot",
					"INSERT INTO daily_stats_slots (site_id, slot, n, hits)\nSELECT site_id, toStartOfFifteenMinutes(ts) AS slot, toUInt64(0), count() FROM events GROUP BY site_id, slot",
					"DROP TABLE IF EXISTS `analytics`.daily_stats_changes ON CLUSTER `mote`",
					"DROP TABLE IF EXISTS `analytics`.daily_stats_changes_local ON CLUSTER `mote`",
				}
				if len(stmts) != 8 {
					t.Fatalf("%v %s: want 2 local and Distributed tables, 2 inserts and 2 drops, got\n%s", v, m.Name, strings.Join(stmts, ";\n"))
				}
				got := slices.Clone(stmts[4:])
				got[0] = got[0][strings.Index(got[0], "INSERT"):]
				if strings.Join(got, ";\n") != strings.Join(wantTail, ";\n") {
					t.Errorf("%v %s:\n%s\nwant\n%s", v, m.Name, strings.Join(got, ";\n"), strings.Join(wantTail, ";\n"))
				}
				stmts = stmts[:4]
			}
			if len(stmts) != 2*len(tables) {
				t.Fatalf("%v %s: %d statements, want the local and the Distributed table", v, m.Name, len(stmts))
			}
			for j, table := range tables {
				key, ok := keys[table]
				if !ok {
					t.Errorf("%v: table %s has no expected sharding key in this test", v, table)
					continue
				}
				sm := local.FindStringSubmatch(stmts[2*j])
				if sm == nil || sm[2] != table || sm[3] != table {
					t.Errorf("%v %s: not a replicated local table:\n%s", v, table, stmts[2*j])
				}
				want := "CREATE TABLE IF NOT EXISTS `analytics`." + table + " ON CLUSTER `mote` AS `analytics`." + table + "_local\n" +
					"ENGINE = Distributed('mote', 'analytics', '" + table + "_local', " + key + ")"
				if stmts[2*j+1] != want {
					t.Errorf("%v %s: Distributed table\n%s\nwant\n%s", v, table, stmts[2*j+1], want)
				}
			}
		}
		all := renderAll(t, v) // single-server text, for contrast
		if strings.Contains(all, "ON CLUSTER") || strings.Contains(all, "Replicated") || strings.Contains(all, "Distributed") {
			t.Errorf("%v: single-server DDL mentions cluster constructs", v)
		}
	}
	s := clusterSchema
	s.Server = oldServer
	sessions := renderSchema(t, s)[2].Statements[0]
	if !strings.Contains(sessions, "ReplicatedVersionedCollapsingMergeTree('/clickhouse/tables/{shard}/analytics/sessions', '{replica}', sign, version)") {
		t.Errorf("sessions engine arguments must follow path and replica:\n%s", sessions)
	}
	events := renderSchema(t, s)[1].Statements[0]
	if !strings.Contains(events, "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/analytics/events', '{replica}')\n") ||
		!strings.Contains(events, "replicated_deduplication_window = 1000") || strings.Contains(events, "non_replicated") {
		t.Errorf("events engine or dedup window:\n%s", events)
	}
}

func TestClusterSchemaErrors(t *testing.T) {
	f := func(s Schema, want string) {
		t.Helper()
		_, err := s.Migrations()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want one containing %q", s, err, want)
		}
	}
	f(Schema{Cluster: "mote"}, "needs the database name")
	f(Schema{Cluster: "mote", Database: "a-b"}, "needs the database name")
	f(Schema{Cluster: "mo`te", Database: "db"}, "cluster name")
	f(Schema{Cluster: "x'); DROP", Database: "db"}, "cluster name")
}

func TestCreateDatabaseSQL(t *testing.T) {
	if got := (Schema{Database: "m"}).CreateDatabaseSQL(); got != "CREATE DATABASE IF NOT EXISTS `m`" {
		t.Errorf("single: %s", got)
	}
	if got := clusterSchema.CreateDatabaseSQL(); got != "CREATE DATABASE IF NOT EXISTS `analytics` ON CLUSTER `mote`" {
		t.Errorf("cluster: %s", got)
	}
}
