package collector

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// fakeConn is a connection from a chosen peer whose Close is recorded.
type fakeConn struct {
	net.Conn // nil: only the methods below are called
	peer     net.Addr
	closed   int
	written  strings.Builder
}

func (c *fakeConn) RemoteAddr() net.Addr             { return c.peer }
func (c *fakeConn) Close() error                     { c.closed++; return nil }
func (c *fakeConn) Write(b []byte) (int, error)      { return c.written.Write(b) }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }
func (c *fakeConn) String() string                   { return c.peer.String() }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) LocalAddr() net.Addr              { return c.peer }
func (c *fakeConn) Read([]byte) (int, error)         { return 0, net.ErrClosed }

// fakeListener accepts the queued connections, then fails.
type fakeListener struct{ queue []net.Conn }

func (l *fakeListener) Accept() (net.Conn, error) {
	if len(l.queue) == 0 {
		return nil, net.ErrClosed
	}
	c := l.queue[0]
	l.queue = l.queue[1:]
	return c, nil
}
func (l *fakeListener) Close() error   { return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

func tcpPeer(s string) *net.TCPAddr {
	return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s))
}

// TestConnCap counts each peer address on its own (IPv6 peers too, and an
// IPv4 peer the same whether or not its address came IPv4-mapped), refuses
// the connection over the cap with a 429, and gives a slot back once however
// often a connection is closed.
func TestConnCap(t *testing.T) {
	peers := []*fakeConn{
		{peer: tcpPeer("192.0.2.1:1000")},
		{peer: tcpPeer("[::ffff:192.0.2.1]:1001")}, // the same peer, mapped
		{peer: tcpPeer("192.0.2.1:1002")},          // over the cap
		{peer: tcpPeer("[2001:db8::1]:1000")},
		{peer: tcpPeer("[2001:db8::2]:1000")}, // another IPv6 peer: its own count
		{peer: &net.UnixAddr{Name: "@x", Net: "unix"}},
	}
	fl := &fakeListener{}
	for _, c := range peers {
		fl.queue = append(fl.queue, c)
	}
	cc := newConnCap(2, slog.New(slog.DiscardHandler))
	ln := cc.wrap(fl)
	var got []net.Conn
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		got = append(got, c)
	}
	if len(got) != 5 {
		t.Fatalf("accepted %d connections, want 5 (one refused)", len(got))
	}
	if refused := peers[2]; refused.closed != 1 || !strings.HasPrefix(refused.written.String(), "HTTP/1.1 429 ") {
		t.Fatalf("connection over the cap: closed %d times, answered %q", refused.closed, refused.written.String())
	}
	v4 := netip.MustParseAddr("192.0.2.1")
	if n := cc.open(v4); n != 2 {
		t.Fatalf("open from the IPv4 peer %d, want 2", n)
	}
	for _, a := range []string{"2001:db8::1", "2001:db8::2"} {
		if n := cc.open(netip.MustParseAddr(a)); n != 1 {
			t.Fatalf("open from %s: %d, want 1", a, n)
		}
	}
	got[0].Close()
	got[0].Close()
	if n := cc.open(v4); n != 1 {
		t.Fatalf("after closing one connection twice: open %d, want 1", n)
	}
	got[1].Close()
	if n := len(cc.conns); n != 2 {
		t.Fatalf("%d addresses still counted, want 2 (the IPv6 peers)", n)
	}
	if _, ok := got[4].(*cappedConn); ok {
		t.Fatal("a Unix socket connection was counted")
	}
}

// TestMaxConnsPerIPReleases: closing a held connection lets the next one
// from the same address in, and the server shuts down cleanly with
// connections held (fasthttp's own cap raced with Shutdown here; run this
// under -race).
func TestMaxConnsPerIPReleases(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnsPerIP = 1
	ts := startServer(t, cfg)
	get := func(c net.Conn) int {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			return 0
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return 0
		}
		var code int
		if _, err := fmt.Sscanf(line, "HTTP/1.1 %d", &code); err != nil {
			t.Fatalf("status line %q: %v", line, err)
		}
		return code
	}
	first, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	if code := get(first); code != 200 {
		t.Fatalf("first connection: %d", code)
	}
	second, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	if code := get(second); code != 429 {
		t.Fatalf("second connection while the first is open: %d, want 429", code)
	}
	second.Close()
	first.Close()
	// The server notices the close on its next read; wait for the slot.
	loopback := netip.MustParseAddr("127.0.0.1")
	deadline := time.Now().Add(5 * time.Second)
	for ts.conns.open(loopback) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the closed connection's slot was never given back")
		}
		time.Sleep(time.Millisecond)
	}
	third, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if code := get(third); code != 200 {
		t.Fatalf("connection after the first closed: %d, want 200", code)
	}
	// startServer's cleanup shuts down with third still open.
}
