package collector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/mote-analytics/mote"
)

// recordingSink keeps deep copies of the events it accepts, as the real
// spool does, so tests see what would have been stored. err, when set,
// makes Append fail like a full spool.
type recordingSink struct {
	mu     sync.Mutex
	events []mote.Event
	err    error

	updates, cancels int             // session updates handed over with the events
	lastState        mote.SessionRow // numbers only: strings are not kept
}

func (s *recordingSink) Append(e *mote.Event, sessions ...*mote.SessionRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if len(sessions) > 0 {
		s.updates++
		if len(sessions) == 2 {
			s.cancels++
		}
		st := *sessions[len(sessions)-1]
		st.SiteID, st.Hostname, st.EntryPage, st.ExitPage = "", "", "", ""
		st.ReferrerHost, st.ReferrerSource, st.Channel, st.Country, st.Region, st.City = "", "", "", "", "", ""
		st.UTMSource, st.UTMMedium, st.UTMCampaign, st.UTMTerm, st.UTMContent = "", "", "", "", ""
		st.Browser, st.OS, st.Device, st.Screen = "", "", "", ""
		s.lastState = st
	}
	s.events = append(s.events, copyEvent(e))
	return nil
}

func (s *recordingSink) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *recordingSink) stored() []mote.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// copyEvent detaches every string of e from request memory.
func copyEvent(e *mote.Event) mote.Event {
	c := *e
	// Every string field: they may alias request buffers.
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String {
			f.SetString(strings.Clone(f.String()))
		}
	}
	c.PropKeys = make([]string, len(e.PropKeys))
	c.PropValues = make([]string, len(e.PropValues))
	for i := range e.PropKeys {
		c.PropKeys[i] = strings.Clone(e.PropKeys[i])
		c.PropValues[i] = strings.Clone(e.PropValues[i])
	}
	return c
}

// copyingSink copies into a reused event, like a spool encoding into a
// reused buffer: it is the Sink for allocation tests.
type copyingSink struct {
	buf []byte
	n   int
}

func (s *copyingSink) Append(e *mote.Event, sessions ...*mote.SessionRow) error {
	s.buf = s.buf[:0]
	for _, r := range sessions {
		s.buf = append(s.buf, r.EntryPage...)
		s.buf = append(s.buf, r.ExitPage...)
	}
	for _, v := range []string{e.SiteID, e.Name, e.Hostname, e.Pathname, e.ReferrerHost, e.Screen} {
		s.buf = append(s.buf, v...)
	}
	for i := range e.PropKeys {
		s.buf = append(s.buf, e.PropKeys[i]...)
		s.buf = append(s.buf, e.PropValues[i]...)
	}
	s.n++
	return nil
}

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))

func testConfig() Config {
	return Config{
		Sites: []mote.Site{
			{ID: "demo", Hostnames: []string{"example.com", "*.example.com"}},
			{ID: "other", Hostnames: []string{"other.org"}},
		},
		Now:    func() time.Time { return testNow },
		Logger: slog.New(slog.DiscardHandler),
	}
}

// testServer is a Server listening on loopback.
type testServer struct {
	*Server
	sink *recordingSink
	addr string
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	sink := &recordingSink{}
	srv, err := New(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &testServer{Server: srv, sink: sink, addr: ln.Addr().String()}
}

// do sends one raw HTTP/1.1 request and returns the parsed response.
func (ts *testServer) do(t *testing.T, raw string) *fasthttp.Response {
	t.Helper()
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	resp := &fasthttp.Response{}
	if strings.HasPrefix(raw, "HEAD ") {
		resp.SkipBody = true
	}
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp
}

// browserUA is the User-Agent get and post send unless the test passes
// its own: without one every hit would be a bot.
const browserUA = "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n"

// withUA adds browserUA to headers that name no User-Agent.
func withUA(headers []string) string {
	all := strings.Join(headers, "")
	if !strings.Contains(strings.ToLower(all), "user-agent:") {
		all += browserUA
	}
	return all
}

func get(target string, headers ...string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: collector.test\r\n" + withUA(headers) + "Connection: close\r\n\r\n"
}

func post(body string, headers ...string) string {
	if len(headers) == 0 {
		headers = []string{"Content-Type: text/plain;charset=UTF-8\r\n"}
	}
	return "POST /api/event HTTP/1.1\r\nHost: collector.test\r\n" + withUA(headers) +
		"Content-Length: " + itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body
}

func itoa(n int) string { return string(fasthttp.AppendUint(nil, n)) }

// handlerCtx prepares a RequestCtx for driving the handler directly, as
// the server does, from raw request bytes.
type handlerCtx struct {
	ctx fasthttp.RequestCtx
	raw []byte
	rd  *bytes.Reader
	br  *bufio.Reader
}

func newHandlerCtx(raw string, peer netip.Addr) *handlerCtx {
	h := &handlerCtx{raw: []byte(raw)}
	h.rd = bytes.NewReader(h.raw)
	h.br = bufio.NewReaderSize(h.rd, 8<<10)
	h.ctx.Init(&fasthttp.Request{}, net.TCPAddrFromAddrPort(netip.AddrPortFrom(peer, 50000)), nil)
	return h
}

// serve reads the raw request into the context afresh (as fasthttp does
// for each request on a connection) and runs the handler.
func (h *handlerCtx) serve(s *Server) error {
	h.rd.Reset(h.raw)
	h.br.Reset(h.rd)
	h.ctx.Request.Reset()
	h.ctx.Response.Reset()
	if err := h.ctx.Request.ReadLimitBody(h.br, s.cfg.MaxBodyBytes); err != nil {
		return err
	}
	s.handle(&h.ctx)
	return nil
}

// Realistic requests for the allocation test, the benchmarks and the
// fuzz seeds.
const (
	benchPixel = "GET /p.gif?s=demo&u=https%3A%2F%2Fexample.com%2Fpricing%3Futm_source%3Dnewsletter&r=https%3A%2F%2Fwww.google.com%2F&w=1440 HTTP/1.1\r\n" +
		"Host: collector.test\r\n" +
		browserUA +
		"Accept: image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8\r\n" +
		"Referer: https://example.com/pricing\r\n" +
		"X-Forwarded-For: 203.0.113.9, 10.0.0.2\r\n\r\n"
	benchEventBody = `{"s":"demo","n":"signup","u":"https://example.com/pricing?plan=pro#top","r":"https://www.google.com/search?q=x","w":1280,"c":1,"p":{"plan":"pro","seats":3,"trial":true,"note":"caf\u00e9 \ud83d\ude00"}}`
)

var benchEvent = "POST /api/event HTTP/1.1\r\n" +
	"Host: collector.test\r\n" +
	browserUA +
	"Origin: https://example.com\r\n" +
	"Content-Type: text/plain;charset=UTF-8\r\n" +
	"Content-Length: " + itoa(len(benchEventBody)) + "\r\n\r\n" + benchEventBody

var errFull = errors.New("spool full")
