package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mote-analytics/mote/internal/testenv"
)

// instance is an in-process `mote serve` for a test.
type instance struct {
	collector string // base URL
	admin     string
	stop      func() // SIGTERM equivalent; waits for serve to return
	err       error
	logs      *syncWriter // everything serve logged, at debug level
}

func testConfig(t *testing.T, dsn, spoolDir string) string {
	t.Helper()
	return writeConfig(t, fmt.Sprintf(`collector:
  listen: "127.0.0.1:0"
admin:
  listen: "127.0.0.1:0"
storage:
  engine: clickhouse
  clickhouse:
    dsn: %q
spool:
  dir: %q
batch:
  max_wait: 100ms
sites:
  - id: shop
    hostnames: [shop.example, "*.shop.example"]
  - id: blog
    hostnames: [blog.example]
`, dsn, spoolDir))
}

func startServe(t *testing.T, configPath string, extra ...string) *instance {
	t.Helper()
	cfg, err := loadConfig(newFlagSet(), append([]string{"-config", configPath}, extra...), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{w: new(bytes.Buffer)}
	log := newLogger(logs, "debug")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan listeners, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, log, ready) }()
	inst := &instance{logs: logs}
	select {
	case l := <-ready:
		inst.collector = "http://" + l.collector.String()
		inst.admin = "http://" + l.admin.String()
	case err := <-done:
		cancel()
		t.Fatalf("serve returned at start: %v", err)
	}
	var once sync.Once
	inst.stop = func() {
		once.Do(func() {
			cancel()
			inst.err = <-done
		})
	}
	t.Cleanup(inst.stop)
	return inst
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*bytes.Buffer).String()
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// browser is the tests' HTTP client: it sends a desktop Chrome User-Agent
// unless a request names its own, since the collector counts a hit without
// a browser's User-Agent as a bot and stores nothing.
var browser = &http.Client{Transport: browserTransport{}}

type browserTransport struct{}

func (browserTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	}
	return http.DefaultTransport.RoundTrip(req)
}

func pixel(t *testing.T, base, site, page string, extra url.Values) *http.Response {
	t.Helper()
	q := url.Values{"s": {site}, "u": {page}}
	for k, v := range extra {
		q[k] = v
	}
	resp, err := browser.Get(base + "/p.gif?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

func postEvent(t *testing.T, base, contentType, body string) int {
	t.Helper()
	resp, err := browser.Post(base+"/api/event", contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func openDB(t *testing.T, addr, db string) chgo.Conn {
	t.Helper()
	conn, err := chgo.Open(&chgo.Options{Addr: []string{addr}, Auth: chgo.Auth{Database: db}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// countByPath returns how many rows each pathname has in events.
func countByPath(conn chgo.Conn) (map[string]uint64, error) {
	rows, err := conn.Query(context.Background(), "SELECT pathname, count() FROM events GROUP BY pathname")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var p string
		var n uint64
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, rows.Err()
}

// waitStored polls until events holds want rows in total or the deadline
// passes, and returns the per-path counts it saw last. Errors are retried
// until the deadline: mote migrates in the background, so the table may not
// exist yet when the first hits are answered.
func waitStored(t *testing.T, conn chgo.Conn, want int, within time.Duration) map[string]uint64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, err := countByPath(conn)
		var total uint64
		for _, n := range got {
			total += n
		}
		if err == nil && total >= uint64(want) {
			return got
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("counting stored rows: %v", err)
			}
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exactlyOnce fails unless every path in want was stored exactly once and
// nothing else was stored.
func exactlyOnce(t *testing.T, got map[string]uint64, want []string) {
	t.Helper()
	for _, p := range want {
		if got[p] != 1 {
			t.Errorf("path %s stored %d times, want exactly once", p, got[p])
		}
	}
	if len(got) != len(want) {
		t.Errorf("stored %d distinct paths, want %d", len(got), len(want))
	}
}

func TestServeEndToEnd(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	inst := startServe(t, testConfig(t, srv.DSN(db), t.TempDir()))

	resp := pixel(t, inst.collector, "shop", "https://shop.example/pricing?utm_source=x&email=a@b.example#top",
		url.Values{"r": {"https://www.google.com/search?q=secret"}, "w": {"1280"}})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(body) != 43 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("pixel: status %d, %d bytes, Cache-Control %q", resp.StatusCode, len(body), resp.Header.Get("Cache-Control"))
	}
	if code := postEvent(t, inst.collector, "text/plain;charset=UTF-8",
		`{"s":"shop","n":"Signup","u":"https://www.shop.example/checkout","r":"https://news.example/","w":400,"p":{"plan":"pro","seats":3}}`); code != 202 {
		t.Fatalf("POST text/plain: %d, want 202", code)
	}
	if code := postEvent(t, inst.collector, "application/json",
		`{"s":"blog","n":"pageview","u":"https://blog.example/post/1","w":1600}`); code != 202 {
		t.Fatalf("POST json: %d, want 202", code)
	}

	conn := openDB(t, srv.Addr(), db)
	waitStored(t, conn, 3, 10*time.Second)

	type row struct {
		Site, Kind, Name, Host, Path, RefHost, Screen string
		Keys, Values                                  []string
		BatchID                                       uint64
	}
	rows, err := conn.Query(context.Background(), `SELECT site_id, toString(kind), name, hostname, pathname,
		referrer_host, screen, props.key, props.value, batch_id FROM events ORDER BY pathname`)
	if err != nil {
		t.Fatal(err)
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.Site, &r.Kind, &r.Name, &r.Host, &r.Path, &r.RefHost, &r.Screen, &r.Keys, &r.Values, &r.BatchID); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	rows.Close()
	want := []row{
		{Site: "shop", Kind: "event", Name: "Signup", Host: "www.shop.example", Path: "/checkout", RefHost: "news.example", Screen: "mobile", Keys: []string{"plan", "seats"}, Values: []string{"pro", "3"}},
		{Site: "blog", Kind: "pageview", Host: "blog.example", Path: "/post/1", Screen: "desktop", Keys: []string{}, Values: []string{}},
		{Site: "shop", Kind: "pageview", Host: "shop.example", Path: "/pricing", RefHost: "www.google.com", Screen: "laptop", Keys: []string{}, Values: []string{}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g := got[i]
		if g.BatchID == 0 {
			t.Errorf("row %d has no batch id", i)
		}
		g.BatchID = 0
		if fmt.Sprint(g) != fmt.Sprint(want[i]) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, want[i])
		}
	}

	// Metrics on the admin listener count what happened.
	mresp, err := browser.Get(inst.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, m := range []string{"mote_hits_accepted_total 3", "mote_rows_stored_total 3", "mote_sessions_active 2"} {
		if !strings.Contains(string(metrics), m+"\n") {
			t.Errorf("metrics lack %q", m)
		}
	}
	// While serving, today's salt is shared through the RAM-only table.
	// The keeper shares it as soon as storage is reached, concurrently
	// with the first batch, hence the short wait.
	var salts uint64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := conn.QueryRow(context.Background(), "SELECT count() FROM salts").Scan(&salts)
		if err == nil && salts == 1 || time.Now().After(deadline) {
			if err != nil || salts != 1 {
				t.Errorf("salts table holds %d rows (%v), want today's", salts, err)
			}
			break
		}
	}
	inst.stop()
	if inst.err != nil {
		t.Fatalf("serve returned %v after shutdown", inst.err)
	}

	// Every hit has a visitor and a visit; the shutdown wrote the visits.
	var noVisitor, noSession uint64
	if err := conn.QueryRow(context.Background(), "SELECT countIf(visitor_id = 0), countIf(session_id = 0) FROM events").Scan(&noVisitor, &noSession); err != nil {
		t.Fatal(err)
	}
	if noVisitor != 0 || noSession != 0 {
		t.Errorf("%d rows without visitor id, %d without session id", noVisitor, noSession)
	}
	var visits, pageviews int64
	var entry string
	if err := conn.QueryRow(context.Background(), `SELECT sum(sign), sum(pageviews * sign), anyIf(entry_page, site_id = 'blog')
		FROM sessions`).Scan(&visits, &pageviews, &entry); err != nil {
		t.Fatal(err)
	}
	// The pixel and the beacon on shop come from the same address and
	// user agent but land on one visit only if the visitor ID matches.
	if visits != 2 || pageviews != 2 || entry != "/post/1" {
		t.Errorf("sessions: %d visits, %d pageviews, blog entry %q; want 2 visits (shop, blog), 2 pageviews, /post/1", visits, pageviews, entry)
	}
}

func TestServeRejectionsStoreNothing(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	inst := startServe(t, testConfig(t, srv.DSN(db), t.TempDir()))

	// Each answers as documented and must store nothing.
	checkGIF := func(name string, resp *http.Response) {
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || len(body) != 43 {
			t.Errorf("%s: status %d, %d bytes; want the GIF", name, resp.StatusCode, len(body))
		}
	}
	checkGIF("unknown site", pixel(t, inst.collector, "nosuchsite", "https://shop.example/a", nil))
	checkGIF("wrong hostname", pixel(t, inst.collector, "shop", "https://evil.example/a", nil))
	checkGIF("apex of wildcard only", pixel(t, inst.collector, "blog", "https://x.blog.example/a", nil))
	checkGIF("missing url", pixel(t, inst.collector, "shop", "", nil))
	checkGIF("not a url", pixel(t, inst.collector, "shop", "::::", nil))
	for name, c := range map[string]struct {
		body string
		code int
	}{
		"malformed":         {`{"s":"shop","n":"pageview","u":`, 400},
		"not an object":     {`[1,2,3]`, 400},
		"unknown site":      {`{"s":"nosuch","n":"pageview","u":"https://shop.example/"}`, 202},
		"wrong hostname":    {`{"s":"shop","n":"pageview","u":"https://evil.example/"}`, 202},
		"oversized":         {`{"s":"shop","n":"pageview","u":"https://shop.example/","x":"` + strings.Repeat("a", 17<<10) + `"}`, 413},
		"trailing garbage":  {`{"s":"shop","n":"pageview","u":"https://shop.example/"} {}`, 400},
		"invalid kind type": {`{"s":"shop","n":7,"u":"https://shop.example/"}`, 400},
	} {
		if code := postEvent(t, inst.collector, "text/plain", c.body); code != c.code {
			t.Errorf("%s: status %d, want %d", name, code, c.code)
		}
	}
	// A good hit afterwards proves the pipeline ran, so "nothing stored" is
	// not just "nothing flushed yet": it was sent after every request above
	// had been answered (an accepted hit is answered once in the spool), and
	// the spool and the batcher keep that order, so a row any of them let
	// through is stored no later than the sentinel, in the same count.
	pixel(t, inst.collector, "shop", "https://shop.example/sentinel", nil)
	conn := openDB(t, srv.Addr(), db)
	exactlyOnce(t, waitStored(t, conn, 1, 10*time.Second), []string{"/sentinel"})
}

func TestServeSuppressedStoreOnlyACounter(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	inst := startServe(t, testConfig(t, srv.DSN(db), t.TempDir()))
	get := func(path string, header ...string) {
		t.Helper()
		req, _ := http.NewRequest("GET", inst.collector+"/p.gif?s=shop&u="+url.QueryEscape("https://shop.example"+path), nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
	}
	get("/dnt", "DNT", "1")
	get("/gpc", "Sec-GPC", "1")
	get("/gpc2", "Sec-GPC", "1")
	get("/prefetch", "Sec-Purpose", "prefetch")
	get("/stored")
	conn := openDB(t, srv.Addr(), db)
	waitStored(t, conn, 1, 10*time.Second)
	inst.stop() // the drain at shutdown writes the counters
	exactlyOnce(t, waitStored(t, conn, 1, time.Second), []string{"/stored"})
	rows, err := conn.Query(context.Background(), "SELECT reason, sum(count) FROM suppressed WHERE site_id = 'shop' GROUP BY reason ORDER BY reason")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var reason string
		var n uint64
		if err := rows.Scan(&reason, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s=%d", reason, n))
	}
	if want := "dnt=1 gpc=2 prefetch=1"; strings.Join(got, " ") != want {
		t.Fatalf("suppressed counters %v, want %s", got, want)
	}
}

func TestServeSpoolFullAnswers503(t *testing.T) {
	// No ClickHouse at all: the spool only grows, and its small cap is hit.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()
	inst := startServe(t, testConfig(t, "clickhouse://"+deadAddr+"/mote", t.TempDir()), "-spool-max-bytes", "4096")

	var accepted, refused int
	for i := 0; i < 200 && refused == 0; i++ {
		resp := pixel(t, inst.collector, "shop", fmt.Sprintf("https://shop.example/p%d", i), nil)
		switch resp.StatusCode {
		case 200:
			accepted++
		case 503:
			refused++
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if accepted == 0 || refused == 0 {
		t.Fatalf("accepted %d, refused %d: want some accepted, then 503 at the cap", accepted, refused)
	}
	if code := postEvent(t, inst.collector, "text/plain", `{"s":"shop","n":"pageview","u":"https://shop.example/x"}`); code != 503 {
		t.Errorf("POST at the cap: %d, want 503", code)
	}
	resp, err := browser.Get(inst.collector + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("/readyz with a full spool and no storage: %d, want 503", resp.StatusCode)
	}
}

func TestServeSurvivesClickHouseOutage(t *testing.T) {
	srv := testenv.StartClickHouse(t)
	db := srv.NewDatabase(t)
	inst := startServe(t, testConfig(t, srv.DSN(db), t.TempDir()))

	var paths []string
	send := func(n int) {
		for i := 0; i < n; i++ {
			p := fmt.Sprintf("/outage/%d", len(paths))
			if resp := pixel(t, inst.collector, "shop", "https://shop.example"+p, nil); resp.StatusCode != 200 {
				t.Fatalf("hit %s answered %d", p, resp.StatusCode)
			}
			paths = append(paths, p)
		}
	}
	send(50)
	// Stored first, so the outage hits a pipeline that is running (not
	// one still opening its storage).
	conn := openDB(t, srv.Addr(), db)
	if got := waitStored(t, conn, len(paths), 30*time.Second); len(got) != len(paths) {
		t.Fatalf("%d of %d hits stored before the outage", len(got), len(paths))
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop ClickHouse: %v", err)
	}
	send(100) // answered while ClickHouse is down: they wait in the spool
	// The outage is felt before it ends: the batcher's inserts fail.
	for deadline := time.Now().Add(30 * time.Second); metricValue(t, inst.admin, "mote_clickhouse_errors_total") == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no failed insert counted while ClickHouse was down; logs:\n%s", inst.logs.String())
		}
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("restart ClickHouse: %v", err)
	}
	send(50)
	got := waitStored(t, openDB(t, srv.Addr(), db), len(paths), 60*time.Second)
	exactlyOnce(t, got, paths)
}

func TestServeSurvivesSIGKILL(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	spoolDir := t.TempDir()
	port := freePort(t)
	// A fixed port, so that the restarted process is reached at the same
	// address; max_wait 2s, so that most hits are still only in the spool
	// when the process is killed.
	config := testConfig(t, srv.DSN(db), spoolDir)
	flags := []string{"-listen", fmt.Sprintf("127.0.0.1:%d", port), "-batch-max-wait", "2s"}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	var paths []string
	for round := 0; round < 3; round++ {
		proc := startProcess(t, config, base, flags...)
		for i := 0; i < 40; i++ {
			p := fmt.Sprintf("/kill/%d/%d", round, i)
			if resp := pixel(t, base, "shop", "https://shop.example"+p, nil); resp.StatusCode != 200 {
				t.Fatalf("hit %s answered %d", p, resp.StatusCode)
			}
			paths = append(paths, p)
		}
		// Killed right after the answers: most hits are only in the spool.
		proc.Process.Signal(syscall.SIGKILL)
		proc.Wait()
	}
	proc := startProcess(t, config, base, flags...)
	got := waitStored(t, openDB(t, srv.Addr(), db), len(paths), 30*time.Second)
	exactlyOnce(t, got, paths)
	proc.Process.Signal(syscall.SIGTERM)
	if err := proc.Wait(); err != nil {
		t.Errorf("mote serve after SIGTERM: %v", err)
	}
}

// startProcess runs `mote serve` as a child process (this test binary in
// main mode) and waits until its collector answers /healthz.
func startProcess(t *testing.T, config, base string, flags ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "-config", config}, flags...)...)
	cmd.Env = append(os.Environ(), "MOTE_TEST_RUN_MAIN=1")
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := browser.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("mote serve did not come up: %v\n%s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
