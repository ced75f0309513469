package testenv

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv("TESTENV_HELPER") == "1" {
		helperProcess()
		return
	}
	Main(m)
}

func TestSharedServer(t *testing.T) {
	a, b := ClickHouse(t), ClickHouse(t)
	if a != b {
		t.Fatal("ClickHouse returned two different shared servers")
	}
	if !strings.HasPrefix(a.DSN("x"), "clickhouse://127.0.0.1:") || !strings.HasSuffix(a.DSN("x"), "/x") {
		t.Errorf("DSN = %q", a.DSN("x"))
	}
	db := a.NewDatabase(t)
	ctx := context.Background()
	if err := a.Exec(ctx, "CREATE TABLE `"+db+"`.t (x UInt8) ENGINE = Memory"); err != nil {
		t.Fatal(err)
	}
	if got := queryUint(t, a, "SELECT count() FROM system.databases WHERE name = '"+db+"'"); got != 1 {
		t.Fatalf("database %s not found", db)
	}
	if db2 := a.NewDatabase(t); db2 == db {
		t.Fatal("NewDatabase returned the same name twice")
	}
}

// TestStopStart is what outage tests rely on: Stop makes the server
// unreachable, Start brings it back on the same port with the same data.
func TestStopStart(t *testing.T) {
	s := StartClickHouse(t)
	db := s.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Exec(ctx, "CREATE TABLE `"+db+"`.t (x UInt32) ENGINE = MergeTree ORDER BY x"); err != nil {
		t.Fatal(err)
	}
	// Old servers wait for a data block after INSERT ... VALUES over the
	// native protocol; INSERT ... SELECT carries its data in the query.
	if err := s.Exec(ctx, "INSERT INTO `"+db+"`.t SELECT toUInt32(number) FROM system.numbers LIMIT 3"); err != nil {
		t.Fatal(err)
	}
	pid := s.pid()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Fatal("Running after Stop")
	}
	if processAlive(pid) {
		t.Fatalf("server pid %d still alive after Stop", pid)
	}
	if err := s.ping(ctx); err == nil {
		t.Fatal("ping succeeded while stopped")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if got := queryUint(t, s, "SELECT count() FROM `"+db+"`.t"); got != 3 {
		t.Fatalf("after restart: %d rows, want 3", got)
	}
}

func TestStartFailureShowsLog(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = StartServer(context.Background(), Config{Dir: t.TempDir(), TCPPort: busy, StartTimeout: 20 * time.Second})
	if err == nil {
		t.Fatal("server started on a busy port")
	}
	if !strings.Contains(err.Error(), "--- tail of") {
		t.Errorf("start error has no log tail: %v", err)
	}
	t.Logf("failed after %v: %.300s", time.Since(start), err)
}

func TestMissingBinary(t *testing.T) {
	_, err := StartServer(context.Background(), Config{Dir: t.TempDir(), Binary: filepath.Join(t.TempDir(), "clickhouse-server")})
	if err == nil || !strings.Contains(err.Error(), "make test-deps") {
		t.Fatalf("want an error naming make test-deps, got %v", err)
	}
}

// TestNoOrphanWhenParentDies kills (SIGKILL) a process that started a
// server; the kernel must take the server down with it.
func TestNoOrphanWhenParentDies(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TESTENV_HELPER=1", "TESTENV_HELPER_DIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("helper: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || !processAlive(pid) {
		_ = cmd.Process.Kill()
		t.Fatalf("helper printed %q", line)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("server pid %d survived its parent", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// helperProcess starts a server, prints its pid and waits to be killed.
func helperProcess() {
	s, err := StartServer(context.Background(), Config{Dir: os.Getenv("TESTENV_HELPER_DIR")})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString(strconv.Itoa(s.pid()) + "\n")
	time.Sleep(time.Minute)
	os.Exit(2)
}

func TestTailLines(t *testing.T) {
	f := func(in string, n int, want string) {
		t.Helper()
		if got := string(tailLines([]byte(in), n)); got != want {
			t.Errorf("tailLines(%q, %d) = %q, want %q", in, n, got, want)
		}
	}
	f("", 3, "")
	f("\n\n", 3, "")
	f("a\nb\nc\n", 2, "b\nc")
	f("a\nb\nc", 5, "a\nb\nc")
	f("\na", 1, "a")
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	// A zombie (exited, not yet reaped) counts as dead.
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) && syscall.Kill(pid, 0) == nil
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func queryUint(t *testing.T, s *Server, q string) uint64 {
	t.Helper()
	conn, err := s.open("default")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n uint64
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
