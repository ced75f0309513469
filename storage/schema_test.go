package storage

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// update regenerates golden files: go test ./storage -run Golden -update
var update = flag.Bool("update", false, "rewrite golden files under testdata/")

var (
	oldServer    = ServerVersion{18, 16} // Debian's clickhouse-server, used by the tests
	modernServer = ServerVersion{26, 7}  // chDB 26.7
)

// renderAll renders every migration for v as one SQL text, one statement per
// paragraph, with a header naming each file.
func renderAll(t *testing.T, v ServerVersion) string {
	t.Helper()
	ms, err := Schema{Server: v}.Migrations()
	if err != nil {
		t.Fatalf("render for %v: %v", v, err)
	}
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("-- ===== " + m.Name + " =====\n")
		for _, s := range m.Statements {
			b.WriteString(s + ";\n\n")
		}
	}
	return b.String()
}

func TestSchemaGolden(t *testing.T) {
	for _, v := range []ServerVersion{oldServer, modernServer} {
		t.Run(v.String(), func(t *testing.T) {
			got := renderAll(t, v)
			golden := filepath.Join("testdata", "schema_"+v.String()+".sql")
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
				t.Errorf("rendered DDL for %v differs from %s (run with -update if intended)\n%s", v, golden, got)
			}
		})
	}
}

// TestSchemaGates checks that no gated feature leaks into the rendering for
// the old server, and that the modern rendering uses each of them.
func TestSchemaGates(t *testing.T) {
	old := stripComments(renderAll(t, oldServer))
	for _, banned := range []string{"LowCardinality", "TTL", "non_replicated_deduplication_window", "INDEX", "{{", "}}"} {
		if strings.Contains(old, banned) {
			t.Errorf("18.16 rendering contains %q", banned)
		}
	}
	modern := renderAll(t, modernServer)
	for _, want := range []string{
		"site_id LowCardinality(String)",
		"TTL ts + INTERVAL 25 MONTH",
		"TTL start_ts + INTERVAL 25 MONTH",
		"non_replicated_deduplication_window = 1000",
		"INDEX batch_id_minmax batch_id TYPE minmax",
	} {
		if !strings.Contains(modern, want) {
			t.Errorf("26.7 rendering lacks %q", want)
		}
	}
	if strings.Contains(modern, "{{") {
		t.Error("26.7 rendering contains template syntax")
	}
}

// stripComments drops "--" comments, which may mention gated words.
func stripComments(sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func TestSchemaRetentionAndWindow(t *testing.T) {
	ms, err := Schema{Server: modernServer, Retention: 90 * 24 * time.Hour, DedupWindow: 77}.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, m := range ms {
		all += strings.Join(m.Statements, "\n")
	}
	for _, want := range []string{"TTL ts + INTERVAL 3 MONTH", "non_replicated_deduplication_window = 77"} {
		if !strings.Contains(all, want) {
			t.Errorf("rendering lacks %q", want)
		}
	}
	f := func(d time.Duration, want int) {
		t.Helper()
		if got := (Schema{Retention: d}).RetentionMonths(); got != want {
			t.Errorf("RetentionMonths(%v) = %d, want %d", d, got, want)
		}
	}
	f(0, 25)
	f(time.Hour, 1)
	f(365*24*time.Hour, 12)
	f(-time.Hour, 25)
}

// TestMigrationsIdempotent enforces the rule that makes concurrent Migrate
// safe: every statement creates something only if it does not exist,
// drops it only if it exists, or adds to the changed-days counters (which
// a repeat only makes larger, costing the summariser a recomputation).
func TestMigrationsIdempotent(t *testing.T) {
	create := regexp.MustCompile(`(?is)^(\s*--[^\n]*\n)*\s*(CREATE TABLE IF NOT EXISTS \w+\s*\(|ALTER TABLE \w+ ADD COLUMN \w+ \w+$|DROP TABLE IF EXISTS \w+$|INSERT INTO daily_stats_(changes|slots) \(site_id, slot, n(, hits)?\)\s+SELECT )`)
	for _, v := range []ServerVersion{oldServer, modernServer} {
		ms, err := Schema{Server: v}.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) < 6 {
			t.Fatalf("want at least 6 migrations, got %d", len(ms))
		}
		if ms[0].Name != "schema_migrations" {
			t.Errorf("migration 1 is %q; it must create schema_migrations so the rest can be recorded", ms[0].Name)
		}
		for _, m := range ms {
			for _, s := range m.Statements {
				if !create.MatchString(s) {
					t.Errorf("%v %04d_%s: statement is not CREATE TABLE IF NOT EXISTS, ADD COLUMN, DROP TABLE IF EXISTS nor a counter insert:\n%s", v, m.Version, m.Name, s)
				}
			}
		}
	}
}

// TestEventColumnsMatchDDL checks that EventColumns names exactly the
// columns of the events table, in the DDL's order.
func TestEventColumnsMatchDDL(t *testing.T) {
	ms, err := Schema{Server: modernServer}.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var ddl string
	for _, m := range ms {
		if m.Name == "events" {
			ddl = m.Statements[0]
		}
	}
	ddl = ddl[strings.Index(ddl, "CREATE TABLE"):]
	body := ddl[strings.Index(ddl, "(")+1 : strings.Index(ddl, "\nENGINE")]
	var cols []string
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == ")" || strings.HasPrefix(line, "--") || strings.HasPrefix(line, "INDEX") {
			continue
		}
		name, typ, _ := strings.Cut(line, " ")
		if name == "props" {
			if !strings.HasPrefix(typ, "Nested(key String, value String)") {
				t.Errorf("props type = %q", typ)
			}
			cols = append(cols, "props.key", "props.value")
			continue
		}
		cols = append(cols, name)
	}
	if !slices.Equal(cols, EventColumns) {
		t.Errorf("events DDL columns\n %v\nEventColumns\n %v", cols, EventColumns)
	}
	sql := InsertEventsSQL()
	if !strings.HasPrefix(sql, "INSERT INTO events (`site_id`, `ts`,") || !strings.Contains(sql, "`props.key`, `props.value`") {
		t.Errorf("InsertEventsSQL() = %s", sql)
	}
}

func TestParseServerVersion(t *testing.T) {
	f := func(in string, want ServerVersion, ok bool) {
		t.Helper()
		got, err := ParseServerVersion(in)
		if (err == nil) != ok || (ok && got != want) {
			t.Errorf("ParseServerVersion(%q) = %v, %v; want %v ok=%v", in, got, err, want, ok)
		}
	}
	f("18.16.1", ServerVersion{18, 16}, true)
	f("23.8.2.7", ServerVersion{23, 8}, true)
	f(" 26.7.3.1\n", ServerVersion{26, 7}, true)
	f("26.7-stable", ServerVersion{26, 7}, true)
	f("24.3.1.2672+lts", ServerVersion{24, 3}, true)
	f("19.3", ServerVersion{19, 3}, true)
	f("", ServerVersion{}, false)
	f("18", ServerVersion{}, false)
	f("18.", ServerVersion{}, false)
	f("v18.16", ServerVersion{}, false)
	f("18.16x", ServerVersion{}, false)
	f("1234567.1", ServerVersion{}, false)
	f("-1.2", ServerVersion{}, false)
}

func TestFeatures(t *testing.T) {
	f := func(v ServerVersion, want Features) {
		t.Helper()
		if got := v.Features(); got != want {
			t.Errorf("%v.Features() = %+v, want %+v", v, got, want)
		}
	}
	f(ServerVersion{18, 16}, Features{})
	f(ServerVersion{19, 3}, Features{LowCardinality: true})
	f(ServerVersion{19, 6}, Features{LowCardinality: true, TTL: true})
	f(ServerVersion{22, 1}, Features{LowCardinality: true, TTL: true})
	f(ServerVersion{22, 2}, Features{true, true, true, true})
	f(ServerVersion{26, 7}, Features{true, true, true, true})
}

func TestSplitStatements(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		got, err := SplitStatements(in)
		if err != nil {
			t.Fatalf("SplitStatements(%q): %v", in, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("SplitStatements(%q) = %q, want %q", in, got, want)
		}
	}
	f("")
	f("  ;; \n")
	f("SELECT 1", "SELECT 1")
	f("SELECT 1; SELECT 2;", "SELECT 1", "SELECT 2")
	f("SELECT ';'; SELECT \"a;b\"", "SELECT ';'", "SELECT \"a;b\"")
	f("SELECT 'it\\'s;'", "SELECT 'it\\'s;'")
	f("-- a; comment\nSELECT 1; -- trailing; comment", "-- a; comment\nSELECT 1")
	f("SELECT /* ; */ 1;\n/* only a comment */", "SELECT /* ; */ 1")
	f("SELECT `a;b` FROM t", "SELECT `a;b` FROM t")
	for _, bad := range []string{"SELECT 'x", "SELECT /* x", "SELECT `x", "SELECT 'x\\'"} {
		if _, err := SplitStatements(bad); err == nil {
			t.Errorf("SplitStatements(%q): want an error", bad)
		}
	}
}

func FuzzParseServerVersion(f *testing.F) {
	for _, s := range []string{"18.16.1", "26.7.3.1", "1.1.54343", "", "x", "22.2-lts", "999999.999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseServerVersion(s)
		if err != nil {
			return
		}
		if v.Major < 0 || v.Minor < 0 {
			t.Fatalf("negative version %v from %q", v, s)
		}
		again, err := ParseServerVersion(v.String())
		if err != nil || again != v {
			t.Fatalf("round trip of %v (from %q): %v, %v", v, s, again, err)
		}
	})
}

func FuzzSplitStatements(f *testing.F) {
	for _, s := range []string{"SELECT 1; SELECT 2", "-- c\nCREATE TABLE x (a String);", "SELECT 'a;b' /* ; */", "';", "/*", "`\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		stmts, err := SplitStatements(s)
		if err != nil {
			return
		}
		for _, st := range stmts {
			if st == "" || st != strings.TrimSpace(st) {
				t.Fatalf("bad piece %q from %q", st, s)
			}
			if !strings.Contains(s, st) {
				t.Fatalf("piece %q is not part of %q", st, s)
			}
			// A piece holds no statement separator: splitting it again
			// yields itself.
			again, err := SplitStatements(st)
			if err != nil || len(again) != 1 || again[0] != st {
				t.Fatalf("re-split of %q = %q, %v", st, again, err)
			}
		}
	})
}

// TestSettled: which failures of a migration's statements count as done.
// A copy out of a table the migration drops finding it gone is done (the
// process that dropped it made the copy); any other read of a missing
// table is an error, on a single server and on a cluster.
func TestSettled(t *testing.T) {
	for _, s := range []Schema{{Server: oldServer}, clusterSchema} {
		ms, err := s.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		m := ms[9]
		var copyOld, countHits, create string
		for _, stmt := range m.Statements {
			switch body := statementBody(stmt); {
			case strings.Contains(body, "FROM daily_stats_changes "):
				copyOld = stmt
			case strings.Contains(body, "FROM events "):
				countHits = stmt
			case strings.HasPrefix(body, "CREATE") && create == "":
				create = stmt
			}
		}
		if m.Name != "day_prefixes" || copyOld == "" || countHits == "" || create == "" {
			t.Fatalf("migration 10 %s: no copy, count or create among\n%s", m.Name, strings.Join(m.Statements, ";\n"))
		}
		for _, tc := range []struct {
			stmt string
			code int
			want bool
		}{
			{copyOld, CodeUnknownTable, true},
			{copyOld, codeTableDropped, true},
			{countHits, codeTableDropped, false},
			{countHits, CodeUnknownTable, false},
			{create, CodeUnknownTable, false},
			{create, codeTableExists, true},
			{"ALTER TABLE sessions ADD COLUMN batch_id UInt64", codeColumnExists, true},
			{"ALTER TABLE sessions ADD COLUMN batch_id UInt64", codeIllegalColumn, true},
			{create, codeColumnExists, false},
			{copyOld, 0, false},
			{copyOld, 241, false}, // MEMORY_LIMIT_EXCEEDED
		} {
			if got := settled(m, tc.stmt, tc.code); got != tc.want {
				t.Errorf("cluster %q: settled(code %d) = %v, want %v, for\n%s", s.Cluster, tc.code, got, tc.want, tc.stmt)
			}
		}
	}
}
