package embedded

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
)

// Child processes: the test binary re-executed with childEnv set runs one
// of the modes below instead of the tests, on the data directory in
// childDirEnv, and reports on stdout, one line per fact.
const (
	childEnv    = "MOTE_EMBEDDED_TEST_CHILD"
	childDirEnv = "MOTE_EMBEDDED_TEST_DIR"
	childLibEnv = "MOTE_EMBEDDED_TEST_LIB"
	childRows   = 2000 // rows per batch
)

// childEvents is batch id's rows, in one of the last 12 months (recent,
// so that the retention TTL keeps them). Every insert makes its own part,
// so a long run leaves many active parts, the case that made chDB abort on
// reopen.
func childEvents(id uint64) []mote.Event {
	events := make([]mote.Event, childRows)
	now := time.Now().UTC()
	base := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -int(id%24), 0)
	for i := range events {
		events[i] = mote.Event{SiteID: "kill", TS: base.Add(time.Duration(i) * time.Second), Kind: mote.KindPageview,
			Pathname: "/p/" + strconv.Itoa(i), VisitorID: id<<20 | uint64(i)}
	}
	return events
}

func runChild(mode string) int {
	ctx := context.Background()
	cfg := Config{LibPath: os.Getenv(childLibEnv), DataDir: os.Getenv(childDirEnv)}
	e, err := Open(ctx, cfg)
	if mode == "open" { // report the error of Open, whatever it is
		fmt.Printf("open: %v\n", err)
		return 0
	}
	if err != nil {
		fmt.Printf("error: %v\n", err)
		return 1
	}
	if err := e.Migrate(ctx); err != nil {
		fmt.Printf("error: %v\n", err)
		return 1
	}
	switch mode {
	case "insert": // insert batches 1, 2, ... until killed
		for id := uint64(1); ; id++ {
			fmt.Printf("start %d\n", id)
			if err := e.InsertEvents(ctx, id, childEvents(id)); err != nil {
				fmt.Printf("error: %v\n", err)
				return 1
			}
			fmt.Printf("done %d\n", id)
		}
	case "recover": // the Batcher's replay: insert what BatchRows says is missing
		last, _ := strconv.ParseUint(os.Getenv("MOTE_EMBEDDED_TEST_LAST"), 10, 64)
		for id := uint64(1); id <= last; id++ {
			n, err := e.BatchRows(ctx, id)
			if err != nil {
				fmt.Printf("error: %v\n", err)
				return 1
			}
			fmt.Printf("found %d %d\n", id, n)
			if n == 0 {
				if err := e.InsertEvents(ctx, id, childEvents(id)); err != nil {
					fmt.Printf("error: %v\n", err)
					return 1
				}
			}
		}
		fallthrough
	case "count":
		n, err := e.queryUint(ctx, "SELECT count() FROM events")
		if err != nil {
			fmt.Printf("error: %v\n", err)
			return 1
		}
		fmt.Printf("count %d\n", n)
	}
	if err := e.Close(); err != nil {
		fmt.Printf("error: %v\n", err)
		return 1
	}
	return 0
}

// child starts the test binary in mode on dir.
func child(t *testing.T, mode, dir, lib string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"="+mode, childDirEnv+"="+dir, childLibEnv+"="+lib)...)
	cmd.Stderr = os.Stderr
	return cmd
}

// childOutput runs a child to its end and returns its stdout lines.
func childOutput(t *testing.T, mode, dir, lib string, env ...string) []string {
	t.Helper()
	out, err := child(t, mode, dir, lib, env...).Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil {
		t.Fatalf("child %s: %v\n%s", mode, err, out)
	}
	return lines
}

func lastCount(t *testing.T, lines []string) uint64 {
	t.Helper()
	var n uint64
	if _, err := fmt.Sscanf(lines[len(lines)-1], "count %d", &n); err != nil {
		t.Fatalf("child output %q", lines)
	}
	return n
}

// TestSIGKILLDuringInsertThenReopen kills a process while it inserts
// batches, at a random moment after it has many parts, then reopens the
// directory in a new process: it must open, every acknowledged batch must
// be there, the batch in flight must be there entirely or not at all, and
// the replay that BatchRows decides must leave each batch exactly once.
func TestSIGKILLDuringInsertThenReopen(t *testing.T) {
	lib := testenv.ChDBLib(t)
	dir := t.TempDir()
	cmd := child(t, "insert", dir, lib)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killAfter := 80 + rand.IntN(10)
	var started, done uint64
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			_ = cmd.Process.Kill()
			t.Fatalf("child: %s", line)
		}
		if _, err := fmt.Sscanf(line, "start %d", &started); err == nil && started > uint64(killAfter) {
			// Somewhere inside this batch's insert.
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			break
		}
		_, _ = fmt.Sscanf(line, "done %d", &done)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Logf("killed during batch %d (%d acknowledged)", started, done)

	lines := childOutput(t, "recover", dir, lib, "MOTE_EMBEDDED_TEST_LAST="+strconv.FormatUint(started, 10))
	for _, line := range lines {
		var id, n uint64
		if _, err := fmt.Sscanf(line, "found %d %d", &id, &n); err != nil {
			continue
		}
		switch {
		case id <= done && n != childRows:
			t.Errorf("acknowledged batch %d has %d rows after the kill, want %d", id, n, childRows)
		case n != 0 && n != childRows:
			t.Errorf("batch %d in flight at the kill: %d rows stored, want 0 or %d", id, n, childRows)
		case id > done:
			t.Logf("batch %d in flight at the kill: %d rows stored", id, n)
		}
	}
	if got, want := lastCount(t, lines), started*childRows; got != want {
		t.Fatalf("%d rows after recovery, want exactly %d", got, want)
	}
}

// TestReopen: data written by one process is there for the next, and a
// second Migrate on the reopened directory changes nothing.
func TestReopen(t *testing.T) {
	lib := testenv.ChDBLib(t)
	dir := t.TempDir()
	lines := childOutput(t, "recover", dir, lib, "MOTE_EMBEDDED_TEST_LAST=3")
	if n := lastCount(t, lines); n != 3*childRows {
		t.Fatalf("first process: %d rows", n)
	}
	lines = childOutput(t, "recover", dir, lib, "MOTE_EMBEDDED_TEST_LAST=3")
	for _, line := range lines[:3] {
		if !strings.HasSuffix(line, " "+strconv.Itoa(childRows)) {
			t.Errorf("reopened: %s, want all %d rows", line, childRows)
		}
	}
	if n := lastCount(t, lines); n != 3*childRows {
		t.Fatalf("reopened: %d rows, want %d", n, 3*childRows)
	}
}

// TestWrongLibrary loads, in a fresh process, files that are not the chDB
// Mote needs: the errors must say how to get the right one.
func TestWrongLibrary(t *testing.T) {
	testenv.ChDBLib(t) // the hint in the errors is the one to check
	tmp := t.TempDir()
	notELF := filepath.Join(tmp, "libchdb.so")
	if err := os.WriteFile(notELF, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := buildFakeChDB(t, tmp, "25.1.0")
	for _, tc := range []struct{ lib, want string }{
		{notELF, "load "},
		{old, `is version "25.1.0", Mote needs 26.7.3`},
	} {
		lines := childOutput(t, "open", t.TempDir(), tc.lib)
		if !strings.Contains(lines[0], tc.want) || !strings.Contains(lines[0], "make chdb") || !strings.Contains(lines[0], NPMPackage) {
			t.Errorf("library %s: %s\nwant %q and the fetch hint", filepath.Base(tc.lib), lines[0], tc.want)
		}
	}
}

// buildFakeChDB compiles a shared library with chDB's entry points whose
// chdb_version says version, to exercise the version gate without a second
// chDB release; its functions are never called beyond chdb_version.
func buildFakeChDB(t *testing.T, dir, version string) string {
	t.Helper()
	var src strings.Builder
	fmt.Fprintf(&src, "const char *chdb_version(void) { return %q; }\n", version)
	for _, name := range []string{"chdb_set_signal_handlers_enabled", "chdb_connect", "chdb_close_conn", "chdb_query_n",
		"chdb_destroy_query_result", "chdb_result_buffer", "chdb_result_length", "chdb_result_error",
		"chdb_result_rows_written", "chdb_stream_insert_n", "chdb_stream_append", "chdb_stream_done",
		"chdb_stream_cancel_insert", "chdb_stream_insert_error", "chdb_destroy_insert_stream"} {
		fmt.Fprintf(&src, "void *%s(void) { return 0; }\n", name)
	}
	c := filepath.Join(dir, "fake.c")
	so := filepath.Join(dir, "libfake.so")
	if err := os.WriteFile(c, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-o", so, c).CombinedOutput(); err != nil {
		t.Fatalf("build fake library (cgo needs a C compiler anyway): %v\n%s", err, out)
	}
	return so
}
