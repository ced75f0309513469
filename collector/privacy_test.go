package collector

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// lockedBuffer collects log output from concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNothingPersonalLogged drives every path that logs (sink failures,
// requests fasthttp cannot parse, stalled connections) with debug logging
// on, and checks that no address, user agent or query text reaches the log.
func TestNothingPersonalLogged(t *testing.T) {
	var logs lockedBuffer
	cfg := testConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.ReadTimeout = 200 * time.Millisecond
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	ts := startServer(t, cfg)
	ts.sink.setErr(errFull)

	const ua = "User-Agent: SecretBrowser/9.9 (id 4242)\r\n"
	const xff = "X-Forwarded-For: 203.0.113.77\r\n"
	ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2Fsecret-page", ua, xff))
	ts.do(t, post(`{"s":"demo","u":"https://example.com/secret-page"}`, "Content-Type: text/plain\r\n", ua, xff))
	ts.do(t, "GARBAGE /secret-page\r\n\r\n")
	ts.do(t, "GET /p.gif?s=demo HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n"+ua+xff+"\r\n")
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("GET /secret-page HTTP/1.1\r\nHost: x\r\n"))
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	conn.Read(make([]byte, 100))
	conn.Close()

	out := logs.String()
	if !strings.Contains(out, "sink refused") {
		t.Fatalf("expected the sink failure to be logged; log:\n%s", out)
	}
	for _, secret := range []string{"127.0.0.1", "203.0.113.77", "SecretBrowser", "secret-page", "4242"} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q:\n%s", secret, out)
		}
	}
}

// TestInvalidUTF8Sanitised sends raw invalid UTF-8 in a beacon and in a
// pixel query and checks that only valid UTF-8 is stored.
func TestInvalidUTF8Sanitised(t *testing.T) {
	ts := startServer(t, testConfig())
	resp := ts.do(t, post("{\"s\":\"demo\",\"n\":\"buy\xff\",\"u\":\"https://example.com/caf\xe9\",\"p\":{\"k\xc3\":\"v\xed\xa0\x80\"}}"))
	if resp.StatusCode() != 202 {
		t.Fatalf("status %d", resp.StatusCode())
	}
	ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F%FF%FEx"))
	got := ts.sink.stored()
	if len(got) != 2 {
		t.Fatalf("stored %d events, want 2", len(got))
	}
	want := []struct{ name, path, key, val string }{
		{"buy\uFFFD", "/caf\uFFFD", "k\uFFFD", "v\uFFFD\uFFFD\uFFFD"},
		{"", "/\uFFFD\uFFFDx", "", ""},
	}
	for i, e := range got {
		for _, s := range append([]string{e.Name, e.Pathname, e.Hostname}, append(e.PropKeys, e.PropValues...)...) {
			if !utf8.ValidString(s) {
				t.Fatalf("event %d stores invalid UTF-8 %q", i, s)
			}
		}
		w := want[i]
		if e.Name != w.name || e.Pathname != w.path || (w.key != "" && (e.PropKeys[0] != w.key || e.PropValues[0] != w.val)) {
			t.Errorf("event %d: name %q path %q props %q=%q; want %+v", i, e.Name, e.Pathname, e.PropKeys, e.PropValues, w)
		}
	}
}

// TestSinkFailureLoggedOncePerSecond: when the spool is full every hit
// fails, and the log says so at most once a second, not once a hit.
func TestSinkFailureLoggedOncePerSecond(t *testing.T) {
	var logs lockedBuffer
	cfg := testConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ts := startServer(t, cfg)
	ts.sink.setErr(errFull)
	start := time.Now()
	const hits = 20
	for range hits {
		if s := ts.do(t, get("/p.gif?s=demo&u=https%3A%2F%2Fexample.com%2F")).StatusCode(); s != 503 {
			t.Fatalf("pixel answered %d while the sink fails", s)
		}
	}
	seconds := int(time.Since(start)/time.Second) + 1
	if n := strings.Count(logs.String(), "sink refused"); n < 1 || n > seconds+1 {
		t.Fatalf("%d hits over %d s logged the sink failure %d times, want once a second", hits, seconds, n)
	}
	if st := ts.Counters(); st.Unavailable != hits {
		t.Fatalf("unavailable %d, want %d", st.Unavailable, hits)
	}
}
