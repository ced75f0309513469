package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/mote-analytics/mote/storage"
)

// Engine is a storage.Engine on chDB. Every method may be called from any
// goroutine; statements run one at a time (see proc).
type Engine struct {
	cfg      Config
	db       string
	version  storage.ServerVersion
	features storage.Features
	schema   storage.Schema
	log      *slog.Logger

	closeOnce sync.Once
	closed    chan struct{}

	insertMu   sync.Mutex // guards buf, block and eventTypes
	buf        []byte     // the reused Native block
	block      nativeBlock
	eventTypes []string // the Native header's types (nativeTypes)
	insertSQL  string
}

// The storage contracts the engine fulfils, checked here in one place.
var (
	_ storage.Engine          = (*Engine)(nil)
	_ storage.SQL             = (*Engine)(nil)
	_ storage.SessionInserter = (*Engine)(nil)
	_ storage.SessionScanner  = (*Engine)(nil)
)

// proc is the process's chDB: chDB runs one engine per process on one data
// directory, so every Engine of the process shares one connection to it
// (engines differ only in their database). Statements on it are serialised
// by sem, a one-slot semaphore rather than a mutex so that a caller can
// stop waiting when its context ends. The connection is closed when the
// last Engine closes.
var proc struct {
	mu      sync.Mutex // guards the fields below; never held during a query
	dir     string
	conn    *conn
	refs    int
	raw     string // SELECT version()
	version storage.ServerVersion

	sem     chan struct{}
	current string // database of the last USE; guarded by sem
}

// Open loads the library, checks its version and connects to chDB on the
// data directory (created if missing). The database need not exist yet:
// Migrate creates it. A second Open in the same process on the same
// directory shares the connection; on another directory it fails, since
// chDB runs one data directory per process.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	db := cfg.database()
	if !storage.ValidIdentifier(db) {
		return nil, fmt.Errorf("open embedded: database name %q: want letters, digits and underscores", db)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open embedded: %w", err)
	}
	libPath := cfg.LibPath
	if err := checkLibrary(libPath); err != nil {
		return nil, fmt.Errorf("open embedded: %w", err)
	}
	dir, err := prepareDataDir(cfg.dataDir())
	if err != nil {
		return nil, fmt.Errorf("open embedded: %w", err)
	}
	if err := acquire(libPath, dir, cfg); err != nil {
		return nil, fmt.Errorf("open embedded: %w", err)
	}
	proc.mu.Lock()
	v := proc.version
	proc.mu.Unlock()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Engine{
		cfg:       cfg,
		db:        db,
		version:   v,
		features:  v.Features(),
		schema:    storage.Schema{Server: v, Retention: cfg.Retention, DedupWindow: cfg.DedupWindow},
		log:       log,
		closed:    make(chan struct{}),
		insertSQL: storage.InsertEventsSQL(),
	}, nil
}

// checkLibrary tells a missing library apart from one that fails to load,
// and says how to get the right one.
func checkLibrary(path string) error {
	if path == "" {
		return errors.New("no chDB library configured: " + FetchHint)
	}
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("chDB library %s not found: %s", path, FetchHint)
	}
	if err != nil {
		return fmt.Errorf("chDB library: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("chDB library %s is a directory, want libchdb.so: %s", path, FetchHint)
	}
	return nil
}

// prepareDataDir creates dir and proves it writable by creating and
// removing a file, so that a read-only or foreign-owned directory fails
// here with its name rather than deep inside chDB with a C++ backtrace.
func prepareDataDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return "", fmt.Errorf("data directory %s cannot be created: %w", abs, err)
	}
	f, err := os.CreateTemp(abs, ".mote-write-check-*")
	if err != nil {
		return "", fmt.Errorf("data directory %s is not writable (chDB keeps its tables there): %w", abs, err)
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return abs, nil
}

// connectArgs are the chdb_connect arguments for a data directory.
//
//   - --max_part_loading_threads=1: after an abrupt exit (SIGKILL) with many
//     active parts, chDB 26.7 aborts in parallel part loading when the
//     directory is opened again (a libc++ assertion, then SIGABRT); loading
//     parts on one thread opens it cleanly. It only slows the start of a
//     large data set.
//   - the query profilers off: they are driven by SIGUSR1/SIGUSR2 timers
//     whose handlers chDB no longer installs (see loadLibrary); a timer
//     firing anyway would reach the Go runtime, which does not expect it.
func connectArgs(dir string, cfg Config) []string {
	args := []string{
		"--path=" + dir,
		"--max_part_loading_threads=1",
		"--query_profiler_real_time_period_ns=0",
		"--query_profiler_cpu_time_period_ns=0",
	}
	if cfg.MaxThreads > 0 {
		args = append(args, "--max_threads="+strconv.Itoa(cfg.MaxThreads))
	}
	return args
}

// acquire loads the library and connects to dir, or joins the process's
// existing connection to dir.
func acquire(libPath, dir string, cfg Config) error {
	proc.mu.Lock()
	defer proc.mu.Unlock()
	got, err := loadLibrary(libPath)
	if err != nil {
		return fmt.Errorf("%w: %s", err, FetchHint)
	}
	if want, _, _ := strings.Cut(LibVersion, "-"); got != want {
		return fmt.Errorf("chDB library %s is version %q, Mote needs %s (%s): %s", libPath, got, want, LibVersion, FetchHint)
	}
	if proc.conn != nil {
		if proc.dir != dir {
			return fmt.Errorf("chDB is already open on %s in this process; it runs one data directory per process, cannot open %s", proc.dir, dir)
		}
		proc.refs++
		return nil
	}
	c, err := connect(connectArgs(dir, cfg))
	if err != nil {
		return fmt.Errorf("connect chDB on %s: %w", dir, err)
	}
	out, err := c.query("SELECT version()", "TabSeparated")
	if err != nil {
		c.close()
		return fmt.Errorf("chDB on %s: %w", dir, err)
	}
	raw := strings.TrimSpace(string(out))
	v, err := storage.ParseServerVersion(raw)
	if err != nil {
		c.close()
		return fmt.Errorf("chDB on %s: %w", dir, err)
	}
	proc.dir, proc.conn, proc.refs, proc.raw, proc.version = dir, c, 1, raw, v
	proc.sem = make(chan struct{}, 1)
	proc.current = ""
	return nil
}

// run executes fn with the connection to itself, in the engine's database
// when useDB is set. It waits for its turn at most until ctx ends; a
// statement that has started runs to its end (chDB offers no way to
// interrupt a plain query), and ctx is checked again before fn.
func (e *Engine) run(ctx context.Context, useDB bool, fn func(c *conn) error) error {
	select {
	case <-e.closed:
		return errClosed
	default:
	}
	proc.mu.Lock()
	sem, c := proc.sem, proc.conn
	proc.mu.Unlock()
	if c == nil {
		return errClosed
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.closed:
		return errClosed
	}
	defer func() { <-sem }()
	if err := ctx.Err(); err != nil {
		return err
	}
	if useDB && proc.current != e.db {
		if _, err := c.query("USE `"+e.db+"`", "TabSeparated"); err != nil {
			return err
		}
		proc.current = e.db
	}
	return fn(c)
}

// Query runs one statement in the engine's database and returns its
// output in format (e.g. "JSON", "TabSeparated", "RowBinary"). It is the
// read path of the dashboards' SQL, which both engines share.
func (e *Engine) Query(ctx context.Context, query, format string) ([]byte, error) {
	var out []byte
	err := e.run(ctx, true, func(c *conn) error {
		var err error
		out, err = c.query(query, format)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("query embedded %s: %w", e.db, err)
	}
	return out, nil
}

// Exec runs one statement in the engine's database, discarding its output.
func (e *Engine) Exec(ctx context.Context, query string) error {
	if _, err := e.Query(ctx, query, "TabSeparated"); err != nil {
		return err
	}
	return nil
}

// queryUint runs a query that returns one unsigned number.
func (e *Engine) queryUint(ctx context.Context, query string) (uint64, error) {
	out, err := e.Query(ctx, query, "TabSeparated")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("query embedded %s: want a number, got %q", e.db, storage.Excerpt(string(out), 40))
	}
	return n, nil
}

// ServerVersion is the ClickHouse version inside the loaded chDB.
func (e *Engine) ServerVersion() storage.ServerVersion { return e.version }

// Database is the database the engine writes to.
func (e *Engine) Database() string { return e.db }

// DataDir is the absolute data directory chDB runs on.
func (e *Engine) DataDir() string {
	proc.mu.Lock()
	defer proc.mu.Unlock()
	return proc.dir
}

// Ping reports whether chDB answers a query.
func (e *Engine) Ping(ctx context.Context) error {
	err := e.run(ctx, false, func(c *conn) error {
		_, err := c.query("SELECT 1", "TabSeparated")
		return err
	})
	if err != nil {
		return fmt.Errorf("ping embedded: %w", err)
	}
	return nil
}

// Close releases the engine's share of the process's connection; the last
// Close shuts chDB's connection down (waiting for a running statement).
// Closing twice is harmless.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		close(e.closed)
		proc.mu.Lock()
		defer proc.mu.Unlock()
		proc.refs--
		if proc.refs > 0 || proc.conn == nil {
			return
		}
		proc.sem <- struct{}{} // wait for the running statement
		proc.conn.close()
		proc.conn, proc.dir, proc.current = nil, "", ""
		<-proc.sem
	})
	return nil
}

// BatchRows counts the events stored under batchID (a minmax index on
// batch_id keeps it cheap).
func (e *Engine) BatchRows(ctx context.Context, batchID uint64) (uint64, error) {
	n, err := e.queryUint(ctx, fmt.Sprintf("SELECT count() FROM events WHERE batch_id = %d", batchID))
	if err != nil {
		return 0, fmt.Errorf("count rows of batch %d: %w", batchID, err)
	}
	return n, nil
}
