package storage

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mote-analytics/mote"
)

// The schema lives in numbered .sql files (NNNN_name.sql) that are
// text/templates: the same file renders to DDL that an old server (the
// Debian 18.16 used in tests) accepts and to DDL that uses what modern
// servers (production 23.x+, chDB 26.x) offer. Every statement must be
// idempotent (CREATE ... IF NOT EXISTS), because two processes may run the
// same migration at once; see the engines' Migrate.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// EventColumns is the explicit column list of every INSERT into events, in
// the order the engines append columns. Naming the columns keeps inserts
// working across schema additions and is what makes clickhouse-go's native
// protocol work with old servers.
var EventColumns = []string{
	"site_id", "ts", "kind", "name",
	"hostname", "pathname",
	"referrer_host", "referrer_source", "channel",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"country", "region", "city",
	"browser", "browser_version", "os", "os_version", "device", "screen",
	"visitor_id", "session_id",
	"engagement_ms", "scroll_depth",
	"props.key", "props.value",
	"campaign_id", "recipient_id", "machine_open", "machine_reason", "link_url",
	"batch_id",
}

// InsertEventsSQL returns the INSERT statement (without data) for events with
// the EventColumns list; names are backquoted because of props.key.
func InsertEventsSQL() string {
	var b strings.Builder
	b.WriteString("INSERT INTO events (")
	for i, c := range EventColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + c + "`")
	}
	b.WriteString(")")
	return b.String()
}

// ServerVersion is the major.minor of a ClickHouse server, as reported by
// SELECT version(). Patch and build numbers never change the DDL we emit.
type ServerVersion struct {
	Major, Minor int
}

// ParseServerVersion parses the output of SELECT version(), e.g. "18.16.1",
// "23.8.2.7" or "26.7.3.1-stable": a major and a minor number, optionally
// followed by '.', '-' or '+' and anything else.
func ParseServerVersion(s string) (ServerVersion, error) {
	s = strings.TrimSpace(s)
	major, rest, ok := leadingNumber(s)
	if !ok || !strings.HasPrefix(rest, ".") {
		return ServerVersion{}, fmt.Errorf("parse server version %q: want MAJOR.MINOR", Excerpt(s, 40))
	}
	minor, rest, ok := leadingNumber(rest[1:])
	if !ok || (rest != "" && !strings.ContainsRune(".-+", rune(rest[0]))) {
		return ServerVersion{}, fmt.Errorf("parse server version %q: want MAJOR.MINOR", Excerpt(s, 40))
	}
	return ServerVersion{Major: major, Minor: minor}, nil
}

// leadingNumber splits a decimal number of at most 6 digits off s.
func leadingNumber(s string) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 6 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[:i])
	return n, s[i:], err == nil
}

func (v ServerVersion) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// AtLeast reports whether v is major.minor or newer.
func (v ServerVersion) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// Features says which version-gated parts of the schema and of the insert
// path a server supports. The versions come from ClickHouse's changelogs:
//
//   - LowCardinality: a stable type since 19.3 (before that it needed
//     allow_experimental_low_cardinality_type, which 19.3 made obsolete).
//   - TTL: table and column TTL arrived in 19.6 (19.6.2.11, 2019-05-13).
//   - Dedup: the insert_deduplication_token setting arrived in 22.2. It only
//     deduplicates a plain MergeTree when the table sets
//     non_replicated_deduplication_window (which is older, from the 21.x
//     MergeTreeDeduplicationLog); both are gated together at 22.2 because
//     the window is only relied on together with the token.
//   - BatchIndex: a minmax data-skipping index on events.batch_id. Skipping
//     indices were experimental in 19.x/20.x; gated at 22.2, a version where
//     they are plainly available, rather than at their first appearance.
type Features struct {
	LowCardinality bool
	TTL            bool
	Dedup          bool
	BatchIndex     bool
}

// Features returns what v supports.
func (v ServerVersion) Features() Features {
	return Features{
		LowCardinality: v.AtLeast(19, 3),
		TTL:            v.AtLeast(19, 6),
		Dedup:          v.AtLeast(22, 2),
		BatchIndex:     v.AtLeast(22, 2),
	}
}

// DefaultDedupWindow is how many recent inserts a plain MergeTree remembers
// for insert_deduplication_token. At one batch a second it covers about a
// quarter of an hour of retries; replays older than that are caught by
// BatchRows instead.
const DefaultDedupWindow = 1000

// Schema renders the embedded migrations for one server. The zero value
// renders for ClickHouse 0.0 (no gated features) with default retention.
type Schema struct {
	// Server is the version the DDL must run on.
	Server ServerVersion
	// Retention is how long raw events and sessions are kept (the TTL, where
	// supported); zero means mote.DefaultRetention (25 months). It is
	// rounded to whole months of 30 days, at least one.
	Retention time.Duration
	// DedupWindow is non_replicated_deduplication_window on servers with
	// Features.Dedup; zero means DefaultDedupWindow.
	DedupWindow int
	// Cluster, when set, renders the DDL for the ClickHouse cluster of that
	// name: ON CLUSTER, Replicated local tables and Distributed tables (see
	// schema_cluster.go). Database is then required.
	Cluster  string
	Database string
}

// Migration is one numbered migration file rendered for a server.
type Migration struct {
	Version uint32
	// Name is the file name without the number and extension, e.g. "events".
	Name string
	// Statements are the SQL statements of the file, in order, without the
	// trailing semicolons. Each is sent to the server as one query.
	Statements []string
}

// RetentionMonths is the retention in whole months used by the TTL clauses.
func (s Schema) RetentionMonths() int {
	r := s.Retention
	if r <= 0 {
		r = mote.DefaultRetention
	}
	months := int((r + 15*24*time.Hour) / (30 * 24 * time.Hour))
	return max(months, 1)
}

// Migrations renders every embedded migration for s.Server, sorted by
// version.
func (s Schema) Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m, err := s.render(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != uint32(i+1) {
			return nil, fmt.Errorf("migrations: want version %d, found %04d_%s (numbers must be contiguous from 1)", i+1, m.Version, m.Name)
		}
	}
	return out, nil
}

// Pending returns the migrations whose versions are not in applied, in order.
func Pending(all []Migration, applied map[uint32]bool) []Migration {
	var out []Migration
	for _, m := range all {
		if !applied[m.Version] {
			out = append(out, m)
		}
	}
	return out
}

// ApplyPending applies, in order, the migrations of s that applied (the
// versions schema_migrations of db records) does not list: the procedure
// both engines share. Each statement goes through exec (an error whose
// server code, as errCode reads it, says the work is done already counts
// as success: settled), then the row that records the migration in
// schema_migrations, through exec with record set. done hears of each
// migration applied. A crash between a migration and its record runs the
// (idempotent) statements again at the next start.
func (s Schema) ApplyPending(db string, applied func() (map[uint32]bool, error), exec func(stmt string, record bool) error, errCode func(error) int, done func(Migration)) error {
	all, err := s.Migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	have, err := applied()
	if err != nil {
		return err
	}
	for _, m := range Pending(all, have) {
		for _, stmt := range m.Statements {
			if err := exec(stmt, false); err != nil && !settled(m, stmt, errCode(err)) {
				return fmt.Errorf("migrate %04d_%s on %s: %w", m.Version, m.Name, db, err)
			}
		}
		// INSERT ... SELECT carries its values in the query text; an
		// INSERT ... VALUES over the native protocol would make an old
		// server wait for a data block.
		rec := fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied_at) SELECT toUInt32(%d), '%s', now()",
			m.Version, strings.ReplaceAll(m.Name, "'", ""))
		if err := exec(rec, true); err != nil {
			return fmt.Errorf("record migration %04d_%s on %s: %w", m.Version, m.Name, db, err)
		}
		done(m)
	}
	return nil
}

// Server error codes that settled reads.
const (
	codeColumnExists  = 15 // DUPLICATE_COLUMN
	codeIllegalColumn = 44 // what 18.16 answers to adding a column that exists
	codeTableExists   = 57
	codeTableDropped  = 218 // TABLE_IS_DROPPED: read while another process drops it
)

// CodeUnknownTable is the server's error code for a table that does not
// exist (UNKNOWN_TABLE), the same in chDB and every server version.
const CodeUnknownTable = 60

// settled reports whether a statement of m that failed with the server
// error code has its work done anyway, by another process migrating at
// the same time (a lost race) or by this one before a crash: a table or
// column that exists already, or a copy out of a table that m drops once
// it has copied it, which finds it gone or going (whoever drops it made
// the copy; seen on 18.16 with two collectors migrating together).
func settled(m Migration, stmt string, code int) bool {
	switch code {
	case codeTableExists:
		return true
	case codeColumnExists, codeIllegalColumn:
		return strings.Contains(stmt, "ADD COLUMN")
	case CodeUnknownTable, codeTableDropped:
		return strings.HasPrefix(statementBody(stmt), "INSERT") && slices.ContainsFunc(droppedTables(m), func(t string) bool {
			return strings.Contains(stmt, " FROM "+t+" ")
		})
	}
	return false
}

// droppedTables are the tables m drops, by their names in the current
// database (a cluster's routing table and its local table alike).
func droppedTables(m Migration) []string {
	var out []string
	for _, stmt := range m.Statements {
		rest, ok := strings.CutPrefix(statementBody(stmt), "DROP TABLE IF EXISTS ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " ")
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		out = append(out, strings.Trim(name, "`"))
	}
	return out
}

// statementBody is stmt without its leading comment lines.
func statementBody(stmt string) string {
	for strings.HasPrefix(stmt, "--") {
		_, stmt, _ = strings.Cut(stmt, "\n")
		stmt = strings.TrimSpace(stmt)
	}
	return stmt
}

func (s Schema) render(file string) (Migration, error) {
	num, name, ok := strings.Cut(strings.TrimSuffix(file, ".sql"), "_")
	version, err := strconv.ParseUint(num, 10, 32)
	if !ok || err != nil || name == "" || !strings.HasSuffix(file, ".sql") {
		return Migration{}, fmt.Errorf("migration file %q: want NNNN_name.sql", file)
	}
	src, err := migrationFiles.ReadFile(path.Join("migrations", file))
	if err != nil {
		return Migration{}, fmt.Errorf("read migration %q: %w", file, err)
	}
	f := s.Server.Features()
	window := s.DedupWindow
	if window <= 0 {
		window = DefaultDedupWindow
	}
	funcs := template.FuncMap{
		// lc wraps a type in LowCardinality where the server has it.
		"lc": func(typ string) string {
			if f.LowCardinality {
				return "LowCardinality(" + typ + ")"
			}
			return typ
		},
		// ttl renders the retention clause (with its line break) for a
		// DateTime column, or nothing on servers without TTL; there,
		// retention drops old monthly partitions instead.
		"ttl": func(col string) string {
			if !f.TTL {
				return ""
			}
			return fmt.Sprintf("TTL %s + INTERVAL %d MONTH\n", col, s.RetentionMonths())
		},
		// dedup renders the table setting that makes
		// insert_deduplication_token work on a plain MergeTree.
		"dedup": func() string {
			if !f.Dedup {
				return ""
			}
			return fmt.Sprintf(", non_replicated_deduplication_window = %d", window)
		},
	}
	if err := s.clusterFuncs(funcs, window); err != nil {
		return Migration{}, fmt.Errorf("render migration %q: %w", file, err)
	}
	tmpl, err := template.New(file).Funcs(funcs).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return Migration{}, fmt.Errorf("parse migration %q: %w", file, err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, f); err != nil {
		return Migration{}, fmt.Errorf("render migration %q: %w", file, err)
	}
	stmts, err := SplitStatements(b.String())
	if err != nil {
		return Migration{}, fmt.Errorf("split migration %q: %w", file, err)
	}
	if len(stmts) == 0 {
		return Migration{}, fmt.Errorf("migration %q has no statements", file)
	}
	return Migration{Version: uint32(version), Name: name, Statements: stmts}, nil
}

// ErrUnterminated is returned by SplitStatements for a quote or block
// comment that is never closed.
var ErrUnterminated = errors.New("unterminated quote or comment")

// SplitStatements splits SQL text into statements at semicolons outside
// quotes ('...', "...", `...` with backslash escapes) and comments (-- to end
// of line, /* ... */). Statements are trimmed; pieces that hold only
// whitespace and comments are dropped, so a file may end with a comment.
func SplitStatements(sql string) ([]string, error) {
	var out []string
	start := 0
	hasCode := false // the current piece has something besides comments
	flush := func(end int) {
		if hasCode {
			out = append(out, strings.TrimSpace(sql[start:end]))
		}
		start, hasCode = end+1, false
	}
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == '\'' || c == '"' || c == '`':
			hasCode = true
			j := i + 1
			for ; j < len(sql) && sql[j] != c; j++ {
				if sql[j] == '\\' {
					j++
				}
			}
			if j >= len(sql) {
				return nil, ErrUnterminated
			}
			i = j
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				i = len(sql)
			} else {
				i += j
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return nil, ErrUnterminated
			}
			i += 2 + j + 1
		case c == ';':
			flush(i)
		default:
			// Whitespace is what strings.TrimSpace trims, so that a piece
			// with code never trims down to nothing.
			r, size := utf8.DecodeRuneInString(sql[i:])
			if !unicode.IsSpace(r) {
				hasCode = true
			}
			i += size - 1
		}
	}
	if start < len(sql) {
		flush(len(sql))
	}
	return out, nil
}
