package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// InstallHint says how to get the server binary; every "not found" error
// carries it.
const InstallHint = "install it with `make test-deps` (or `apt-get install clickhouse-server`)"

// Config describes a ClickHouse server to run. The zero value means: find
// clickhouse-server, pick free loopback ports, wait up to a minute; Dir is
// the only field StartServer requires.
type Config struct {
	// Binary is the clickhouse-server executable; "" looks it up on PATH,
	// then in /usr/sbin and /usr/bin (Debian installs it in /usr/sbin, which
	// is not on every PATH).
	Binary string
	// Dir holds the generated config, data/ and log/. It is kept across
	// Stop/Start, so data survives a restart like a real outage.
	Dir string
	// TCPPort is the native-protocol port and HTTPPort the HTTP port on
	// 127.0.0.1; 0 picks a free port.
	TCPPort, HTTPPort int
	// StartTimeout bounds each wait for the server to answer; 0 means 60 s.
	StartTimeout time.Duration
}

// Server is a clickhouse-server process on 127.0.0.1. Its methods are safe
// for concurrent use.
type Server struct {
	cfg Config

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of the server binary.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
}

// FindBinary returns the path of clickhouse-server, or an error that says
// how to install it.
func FindBinary() (string, error) {
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("clickhouse-server not found on PATH, in /usr/sbin or /usr/bin: " + InstallHint)
}

// StartServer writes the configuration into cfg.Dir, starts the server and
// waits until it answers SELECT 1 on its native port. The caller must Stop
// or Close it; if the caller's process dies first, the kernel kills the
// server (on Linux).
func StartServer(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("start clickhouse: Config.Dir is empty")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("start clickhouse: %w", err)
	}
	cfg.Dir = dir
	if cfg.Binary == "" {
		if cfg.Binary, err = FindBinary(); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(cfg.Binary); err != nil {
		return nil, fmt.Errorf("clickhouse-server binary: %w: %s", err, InstallHint)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	for _, p := range []*int{&cfg.TCPPort, &cfg.HTTPPort} {
		if *p == 0 {
			if *p, err = freePort(); err != nil {
				return nil, fmt.Errorf("start clickhouse: %w", err)
			}
		}
	}
	s := &Server{cfg: cfg}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before the server binds it; the server would then fail to start
// and say so in its log, which the start error includes.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr is host:port of the native protocol.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.TCPPort)) }

// HTTPAddr is host:port of the HTTP interface.
func (s *Server) HTTPAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.HTTPPort))
}

// DSN is the clickhouse-go DSN of database db on this server.
func (s *Server) DSN(db string) string { return "clickhouse://" + s.Addr() + "/" + db }

// Dir is the server directory (config, data/, log/).
func (s *Server) Dir() string { return s.cfg.Dir }

// Start starts a stopped server again on the same ports and data
// directory and waits until it answers. Starting a running server is a
// no-op.
func (s *Server) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StartTimeout)
	defer cancel()
	return s.start(ctx)
}

func (s *Server) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		select {
		case <-s.proc.done:
		default:
			return nil
		}
	}
	if err := writeConfig(s.cfg.Dir, s.cfg.TCPPort, s.cfg.HTTPPort); err != nil {
		return fmt.Errorf("start clickhouse: %w", err)
	}
	p, err := s.launch()
	if err != nil {
		return fmt.Errorf("start clickhouse: %w", err)
	}
	s.proc = p
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StartTimeout)
	defer cancel()
	if err := s.waitReady(ctx, p); err != nil {
		kill(p)
		s.proc = nil
		return fmt.Errorf("start clickhouse on %s: %w\n%s", s.Addr(), err, s.logTail())
	}
	return nil
}

// launch starts the binary from a goroutine locked to its OS thread, which
// stays blocked in Wait for the child's whole life (see sysProcAttr).
func (s *Server) launch() (*process, error) {
	out, err := os.OpenFile(filepath.Join(s.cfg.Dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open server output: %w", err)
	}
	cmd := exec.Command(s.cfg.Binary, "--config-file="+filepath.Join(s.cfg.Dir, "config.xml"))
	cmd.Dir = s.cfg.Dir
	p, err := startProcess(cmd, out)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", s.cfg.Binary, err)
	}
	return p, nil
}

// startProcess starts cmd with its output to out (closed when the process
// exits) from a goroutine locked to its OS thread, which stays blocked in
// Wait for the child's whole life: Pdeathsig follows that thread (see
// sysProcAttr).
func startProcess(cmd *exec.Cmd, out *os.File) (*process, error) {
	p := &process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = sysProcAttr()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.cmd = cmd
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// waitReady polls until the server answers SELECT 1 over the native
// protocol, the process exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	var last error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("server exited during start-up (%v)", p.err)
		default:
		}
		if last = s.ping(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server did not answer within %v: %w", s.cfg.StartTimeout, last)
		case <-p.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ping runs SELECT 1 on a fresh connection.
func (s *Server) ping(ctx context.Context) error {
	conn, err := s.open("default")
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var one uint8
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// waitZooKeeper waits until the server reads ZooKeeper. ClickHouse 18.16
// answers queries before its ZooKeeper session is up, and a distributed
// DDL sent then can crash it in ZooKeeper::createImpl (seen once under
// load: a NULL session).
func (s *Server) waitZooKeeper(ctx context.Context) error {
	for {
		err := s.Exec(ctx, "SELECT count() FROM system.zookeeper WHERE path = '/'")
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ZooKeeper not reached: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Exec runs one statement on the server as the default user, in database
// "default".
func (s *Server) Exec(ctx context.Context, query string) error {
	conn, err := s.open("default")
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Exec(ctx, query)
}

func (s *Server) open(db string) (clickhouse.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{
		Addr:         []string{s.Addr()},
		Auth:         clickhouse.Auth{Database: db, Username: "default"},
		DialTimeout:  time.Second,
		MaxOpenConns: 1,
	})
}

// Stop kills the server with SIGKILL, like a crash or an outage, and waits
// until it has exited. The data directory stays; Start brings it back.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		kill(s.proc)
		s.proc = nil
	}
	return nil
}

// Close stops the server gracefully (SIGTERM, so it flushes and closes its
// parts), killing it if it has not exited within timeout.
func (s *Server) Close(timeout time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		kill(p)
		return fmt.Errorf("clickhouse did not stop within %v after SIGTERM; killed it", timeout)
	}
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return false
	}
	select {
	case <-s.proc.done:
		return false
	default:
		return true
	}
}

// Exited is closed when the current server process exits (nil when stopped).
func (s *Server) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	return s.proc.done
}

// pid is the server's process id, 0 when stopped.
func (s *Server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

func kill(p *process) {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// logTail returns the end of the server's error log and output, for start
// errors: the reason a server refuses to start is always in there.
func (s *Server) logTail() string {
	var b bytes.Buffer
	for _, name := range []string{"server.err.log", "stdout.log"} {
		data, err := os.ReadFile(filepath.Join(s.cfg.Dir, "log", name))
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		fmt.Fprintf(&b, "--- tail of %s ---\n%s\n", name, tailLines(data, 25))
	}
	if b.Len() == 0 {
		return "(the server wrote no log)"
	}
	return b.String()
}

// tailLines returns the last n lines of data.
func tailLines(data []byte, n int) []byte {
	data = bytes.TrimRight(data, "\n")
	if len(data) == 0 {
		return data
	}
	i := len(data)
	for ; n > 0 && i > 0; n-- {
		i = bytes.LastIndexByte(data[:i], '\n')
		if i < 0 {
			return data
		}
	}
	return data[i+1:]
}
