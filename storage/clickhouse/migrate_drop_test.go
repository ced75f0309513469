package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
)

// TestMigrateSurvivesDroppedConnection migrates a new database through a
// proxy that cuts the first connection carrying CREATE DATABASE right
// after the server got the statement, before its answer: Migrate must send
// it again and finish with the whole schema.
func TestMigrateSurvivesDroppedConnection(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := fmt.Sprintf("dropped_%d_%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { _ = srv.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`") })
	p := startDropProxy(t, srv.Addr(), []byte("CREATE DATABASE"))
	e, err := Open(ctx(t), Config{DSN: "clickhouse://" + p.ln.Addr().String() + "/" + db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	if err := e.Migrate(ctx(t)); err != nil {
		t.Fatalf("Migrate through a dropped connection: %v", err)
	}
	if p.cuts.Load() != 1 {
		t.Fatalf("the proxy cut %d connections, want 1: the test did not drop what it meant to", p.cuts.Load())
	}
	if got := tables(t, e); !slices.Equal(got, wantTables) {
		t.Fatalf("tables = %v, want %v", got, wantTables)
	}
}

// TestQuerySurvivesDroppedConnection: a query whose connection is cut
// after the server got it, before its answer, is sent again and answers.
func TestQuerySurvivesDroppedConnection(t *testing.T) {
	srv := testenv.ClickHouse(t)
	p := startDropProxy(t, srv.Addr(), []byte("SELECT 4242"))
	e, err := Open(ctx(t), Config{DSN: "clickhouse://" + p.ln.Addr().String() + "/default"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	rows, err := e.QuerySQL(ctx(t), "SELECT 4242 + 1")
	if err != nil {
		t.Fatalf("a query through a dropped connection: %v", err)
	}
	if p.cuts.Load() != 1 {
		t.Fatalf("the proxy cut %d connections, want 1: the test did not drop what it meant to", p.cuts.Load())
	}
	var n uint64
	if err := rows.Scan(0, &n); err != nil || n != 4243 {
		t.Fatalf("answer %d (%v), want 4243", n, err)
	}
}

func TestRetryDropped(t *testing.T) {
	calls := 0
	err := retryDropped(context.Background(), func() error { calls++; return io.EOF })
	if err != io.EOF || calls != ddlAttempts {
		t.Fatalf("always dropped: err %v after %d calls, want EOF after %d", err, calls, ddlAttempts)
	}
	calls = 0
	boom := fmt.Errorf("syntax error")
	if err := retryDropped(context.Background(), func() error { calls++; return boom }); err != boom || calls != 1 {
		t.Fatalf("other error: err %v after %d calls, want it after 1", err, calls)
	}
}

// dropProxy forwards TCP to a server and cuts the first connection whose
// client bytes contain a marker, once they were forwarded.
type dropProxy struct {
	ln     net.Listener
	target string
	marker []byte
	cuts   atomic.Int32
	wg     sync.WaitGroup
}

func startDropProxy(t *testing.T, target string, marker []byte) *dropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, target: target, marker: marker}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

func (p *dropProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, s); _ = c.Close() }()
		go func() { defer p.wg.Done(); p.forward(c, s); _ = s.Close() }()
	}
}

// forward copies client bytes to the server; after the chunk holding the
// marker (on the first such connection) it closes both sides.
func (p *dropProxy) forward(c, s net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
			if bytes.Contains(buf[:n], p.marker) && p.cuts.CompareAndSwap(0, 1) {
				_ = c.Close()
				return
			}
		}
		if err != nil {
			return
		}
	}
}
