package collector

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// connCap caps concurrent connections per socket peer address
// (Config.MaxConnsPerIP) across every listener it wraps. It replaces fasthttp's own
// MaxConnsPerIP, whose per-connection counter is read by the connection's
// worker and written by Server.Shutdown without a lock (a data race the
// race detector reports whenever the cap is set), and which counts every
// IPv6 peer under one key.
//
// A connection over the cap is answered 429 and closed at once, before
// fasthttp sees it, so it never holds a worker.
type connCap struct {
	max int
	log *slog.Logger

	mu    sync.Mutex
	conns map[netip.Addr]int

	// lastLog rate-limits the "over the cap" log line (unix seconds); the
	// line never names the address.
	lastLog atomic.Int64
}

// tooManyConns is the whole answer to a connection over the cap.
var tooManyConns = []byte("HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")

func newConnCap(maxPerIP int, log *slog.Logger) *connCap {
	return &connCap{max: maxPerIP, log: log, conns: make(map[netip.Addr]int)}
}

// wrap returns ln with the cap applied to the connections it accepts.
func (l *connCap) wrap(ln net.Listener) net.Listener {
	return &cappedListener{Listener: ln, cap: l}
}

// cappedListener hands out only connections whose peer is under the cap.
type cappedListener struct {
	net.Listener
	cap *connCap
}

// Accept returns the next connection whose peer is under the cap; the
// ones over it are refused here and never returned.
func (ln *cappedListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip, ok := connPeer(c)
		if !ok {
			// Not a TCP peer (a Unix socket): there is no address to cap.
			return c, nil
		}
		if ln.cap.acquire(ip) {
			return &cappedConn{Conn: c, l: ln.cap, ip: ip}, nil
		}
		ln.cap.refuse(c)
	}
}

func (l *connCap) acquire(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns[ip] >= l.max {
		return false
	}
	l.conns[ip]++
	return true
}

func (l *connCap) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.conns[ip] - 1; n > 0 {
		l.conns[ip] = n
	} else {
		delete(l.conns, ip)
	}
}

// open returns the number of connections counted for ip (for tests).
func (l *connCap) open(ip netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns[ip]
}

// refuse answers c 429 and closes it. The write goes into an empty send
// buffer, so it does not wait on the peer; the deadline bounds it anyway,
// since it runs on the accept loop.
func (l *connCap) refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	c.Write(tooManyConns)
	c.Close()
	now := time.Now().Unix()
	if last := l.lastLog.Load(); now-last >= 60 && l.lastLog.CompareAndSwap(last, now) {
		l.log.Warn("connection refused: too many concurrent connections from one address", "max_conns_per_ip", l.max)
	}
}

// connPeer is c's remote address, unmapped so that an IPv4 peer counts
// once whether it came over IPv4 or an IPv4-mapped IPv6 socket.
func connPeer(c net.Conn) (netip.Addr, bool) {
	a, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	return peerAddr(a.IP), true
}

// cappedConn gives its slot back once, on the first Close.
type cappedConn struct {
	net.Conn
	l    *connCap
	ip   netip.Addr
	once sync.Once
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}
