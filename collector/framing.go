package collector

import (
	"bytes"
	"errors"
	"net"
)

// Request smuggling needs two parsers that disagree on where a request
// ends: a front proxy that reads one request where the collector reads
// two. fasthttp (v1.74) is lenient where RFC 9112 asks a server to refuse
// or to close: it reads a request with both Content-Length and
// Transfer-Encoding as chunked and keeps the connection open; it accepts
// header names with spaces inside and obs-folded (continued) lines; it
// has no option to refuse them. So the handler checks the raw header
// block first, and answers anything ambiguous with 400 and closes the
// connection, so that no byte after it is read as another request:
//
//   - Content-Length and Transfer-Encoding together (RFC 9112 §6.1);
//   - a Transfer-Encoding other than exactly "chunked";
//   - a header name holding a space or tab (§5.1: no whitespace between
//     name and colon; fasthttp refuses only trailing whitespace);
//   - a line folded onto the one before (obs-fold, §5.2);
//   - a line ending in a bare LF or a CR not followed by LF (§2.2).
//
// fasthttp already refuses duplicated Content-Length or Transfer-Encoding
// headers, Transfer-Encoding on HTTP/1.0, unknown codings and malformed
// chunks.

// framingOK reports whether a raw header block (the lines after the
// request line, through the empty line) frames its request unambiguously.
// The request line itself is fasthttp's to check.
func framingOK(raw []byte) bool {
	if len(raw) == 0 {
		return true // no header lines at all (fasthttp keeps none)
	}
	hasCL, hasTE := false, false
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		if i < 1 || raw[i-1] != '\r' {
			return false // bare LF, or no line end at all
		}
		line := raw[:i-1]
		raw = raw[i+1:]
		if len(line) == 0 {
			return len(raw) == 0 && !(hasCL && hasTE)
		}
		if line[0] == ' ' || line[0] == '\t' || bytes.IndexByte(line, '\r') >= 0 {
			return false
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 1 {
			return false
		}
		name := line[:colon]
		if bytes.IndexByte(name, ' ') >= 0 || bytes.IndexByte(name, '\t') >= 0 {
			return false
		}
		switch {
		case bytes.EqualFold(name, hdrContentLength):
			hasCL = true
		case bytes.EqualFold(name, hdrTransferEncoding):
			hasTE = true
			if !bytes.EqualFold(bytes.Trim(line[colon+1:], " \t"), valChunked) {
				return false
			}
		}
	}
	return false // no empty line ends the block
}

var (
	hdrContentLength    = []byte("Content-Length")
	hdrTransferEncoding = []byte("Transfer-Encoding")
	valChunked          = []byte("chunked")
)

// errNotHTTP ends a connection whose first bytes cannot start an
// HTTP/1.1 request.
var errNotHTTP = errors.New("not an HTTP/1.1 request")

// sniffListener fails fast on connections that would otherwise wait for
// the read timeout: a TLS ClientHello sent to the plain-HTTP port (its
// first byte, 0x16, starts no method), and a request line ending in a
// bare LF (fasthttp waits for a CRLF that never comes). Only the first
// read of a connection is looked at, so the cost is one check per
// connection; a bare LF in a later request still waits for the timeout.
type sniffListener struct {
	net.Listener
	onRefuse func()
}

func (l sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, onRefuse: l.onRefuse}, nil
}

type sniffConn struct {
	net.Conn
	onRefuse func()
	checked  bool
}

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.checked || n == 0 {
		return n, err
	}
	c.checked = true
	if notHTTP(p[:n]) {
		c.onRefuse()
		c.Conn.Close()
		return 0, errNotHTTP
	}
	return n, err
}

// notHTTP: b, the first bytes of a connection, are a TLS handshake
// record or a request line ending in a bare LF.
func notHTTP(b []byte) bool {
	if b[0] == 0x16 {
		return true
	}
	i := bytes.IndexByte(b, '\n')
	return i == 0 || i > 0 && b[i-1] != '\r'
}
