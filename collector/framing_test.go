package collector

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// smuggled is a second request hidden after the first one's body; if the
// collector ever answers it, its hit is stored.
const smuggled = "GET /p.gif?s=demo&u=https%3A%2F%2Fexample.com%2Fsmuggled HTTP/1.1\r\nHost: collector.test\r\n" + browserUA + "\r\n"

// exchange writes raw on one connection, half-closes it and reads every
// response until the server closes. closed reports that the server ended
// the connection by itself (before the idle timeout).
func exchange(t testing.TB, addr, raw string) (codes []int, closed bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			return codes, !(errors.As(err, &ne) && ne.Timeout())
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
}

// TestFramingSmuggling: each ambiguous shape is answered 400 once, the
// connection is closed at once (the next request is never read), and
// nothing is stored. Before the check fasthttp read the CL+TE request as
// chunked, kept the connection open and served the smuggled pixel.
func TestFramingSmuggling(t *testing.T) {
	ts := startServer(t, testConfig())
	body := `{"s":"demo","u":"https://example.com/a"}`
	chunked := "29\r\n" + body + "\r\n0\r\n\r\n"
	head := "POST /api/event HTTP/1.1\r\nHost: collector.test\r\n" + browserUA + "Content-Type: text/plain\r\n"
	for _, tc := range []struct{ name, raw string }{
		{"CL.TE", head + "Content-Length: " + itoa(len(chunked)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled},
		{"TE.CL", head + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + chunked + smuggled},
		{"TE.CL short", head + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled},
		{"space in a header name", head + "Transfer Encoding: chunked\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body + smuggled},
		{"obs-fold", head + "X-Note: a\r\n Transfer-Encoding: chunked\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body + smuggled},
		{"obs-fold tab", head + "X-Note: a\r\n\tb\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body + smuggled},
		{"bare LF in a header", head + "X-Note: a\nTransfer-Encoding: chunked\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body + smuggled},
		{"TE identity", head + "Transfer-Encoding: identity\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body + smuggled},
		{"pixel CL.TE", "GET /p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F HTTP/1.1\r\nHost: c\r\n" + browserUA + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.Counters()
			codes, closed := exchange(t, ts.addr, tc.raw)
			if len(codes) != 1 || codes[0] != 400 || !closed {
				t.Errorf("responses %v, closed %v; want one 400 and the connection closed", codes, closed)
			}
			if n := len(ts.sink.stored()); n != 0 {
				t.Errorf("%d hits stored", n)
			}
			after := ts.Counters()
			if after.Accepted != before.Accepted || after.Rejected() == before.Rejected() {
				t.Errorf("stats before %+v after %+v", before, after)
			}
		})
	}
	// A well-framed pair on one connection is still two requests.
	codes, _ := exchange(t, ts.addr, head+"Content-Length: "+itoa(len(body))+"\r\n\r\n"+body+smuggled)
	if len(codes) != 2 || codes[0] != 202 || codes[1] != 200 {
		t.Errorf("pipelined pair: %v", codes)
	}
	if n := len(ts.sink.stored()); n != 2 {
		t.Errorf("pipelined pair stored %d hits", n)
	}
}

// TestFailFast: a TLS ClientHello and a bare-LF request line end the
// connection at once instead of waiting for the read timeout.
func TestFailFast(t *testing.T) {
	cfg := testConfig()
	cfg.ReadTimeout = 5 * time.Second
	ts := startServer(t, cfg)
	for name, raw := range map[string]string{
		"tls hello":    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"bare LF":      "GET /healthz HTTP/1.1\nHost: c\n\n",
		"bare LF only": "\n",
	} {
		start := time.Now()
		codes, closed := exchange(t, ts.addr, raw)
		if d := time.Since(start); !closed || d > time.Second || len(codes) > 1 {
			t.Errorf("%s: closed %v after %v, responses %v", name, closed, d, codes)
		}
	}
	if st := ts.Counters(); st.BadFraming < 3 {
		t.Errorf("stats %+v", st)
	}
	if codes, _ := exchange(t, ts.addr, "\r\nGET /healthz HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n"); len(codes) != 1 || codes[0] != 200 {
		t.Errorf("a request after an empty CRLF line: %v", codes)
	}
}

// FuzzFramingOK holds framingOK to a second, line-by-line statement of
// the rule: whatever it accepts has only CRLF line ends, no folded line,
// header names without whitespace, and not both Content-Length and
// Transfer-Encoding (which is then exactly "chunked").
func FuzzFramingOK(f *testing.F) {
	for _, s := range []string{
		"Host: c\r\nContent-Length: 3\r\n\r\n",
		"Host: c\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"Host: c\r\nTransfer-Encoding: Chunked \r\n\r\n",
		"Host: c\r\nX: a\r\n b\r\n\r\n",
		"Host: c\r\nX Y: a\r\n\r\n",
		"Host: c\nX: a\r\n\r\n",
		"Host: c\r\n\r\nX: y\r\n\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !framingOK(raw) {
			return
		}
		s := string(raw)
		if s == "" {
			return
		}
		if !strings.HasSuffix(s, "\r\n\r\n") && s != "\r\n" {
			t.Fatalf("accepted a block without its empty line: %q", s)
		}
		lines := strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n")
		cl, te := 0, 0
		for _, l := range lines {
			if l == "" && s == "\r\n" {
				continue
			}
			name, value, ok := strings.Cut(l, ":")
			if !ok || name == "" || strings.ContainsAny(l, "\r\n") || strings.ContainsAny(name, " \t") {
				t.Fatalf("accepted line %q of %q", l, s)
			}
			switch strings.ToLower(name) {
			case "content-length":
				cl++
			case "transfer-encoding":
				te++
				if !strings.EqualFold(strings.Trim(value, " \t"), "chunked") {
					t.Fatalf("accepted Transfer-Encoding %q", value)
				}
			}
		}
		if cl > 0 && te > 0 {
			t.Fatalf("accepted both Content-Length and Transfer-Encoding: %q", s)
		}
	})
}

// FuzzRequestFraming sends arbitrary bytes on one connection to a real
// server. Whatever they are, the server answers well-formed responses,
// ends the connection (no wait for the idle timeout) once the input is
// spent, and after refusing a request it could not frame (400 "bad
// request", 413, 431) answers nothing more: no byte after it is ever read
// as another request. (A beacon with a bad body is a well-framed request:
// its 400 keeps the connection.)
func FuzzRequestFraming(f *testing.F) {
	body := `{"s":"demo","u":"https://example.com/a"}`
	head := "POST /api/event HTTP/1.1\r\nHost: c\r\n" + browserUA
	for _, s := range []string{
		head + "Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body + smuggled,
		head + "Content-Length: 46\r\nTransfer-Encoding: chunked\r\n\r\n29\r\n" + body + "\r\n0\r\n\r\n" + smuggled,
		head + "Transfer-Encoding: chunked\r\n\r\n29\r\n" + body + "\r\n0\r\n\r\n" + smuggled,
		head + "X: a\r\n b\r\nContent-Length: 0\r\n\r\n" + smuggled,
		smuggled + smuggled,
		"\x16\x03\x01\x00",
	} {
		f.Add([]byte(s))
	}
	cfg := testConfig()
	cfg.ReadTimeout, cfg.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond
	sink := &recordingSink{}
	srv, err := New(cfg, sink)
	if err != nil {
		f.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	f.Cleanup(func() { _ = srv.Shutdown(f.Context()) })
	f.Fuzz(func(t *testing.T, raw []byte) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = conn.Write(raw)
		_ = conn.(*net.TCPConn).CloseWrite()
		br := bufio.NewReader(conn)
		refused := false
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("connection still open 2 s after %q", raw)
				}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if refused {
				t.Fatalf("answered %d after refusing a request on one connection: %q", resp.StatusCode, raw)
			}
			refused = resp.StatusCode == 400 && string(b) == string(bodyBadRequest) || resp.StatusCode == 413 || resp.StatusCode == 431
		}
	})
}

// BenchmarkFramingOK is the framing check on a tracker beacon's header
// block, the cost every request now pays.
func BenchmarkFramingOK(b *testing.B) {
	raw := []byte(benchEvent[strings.Index(benchEvent, "\r\n")+2 : strings.Index(benchEvent, "\r\n\r\n")+4])
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if !framingOK(raw) {
			b.Fatal("refused")
		}
	}
}
