package trackerjs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mote-analytics/mote/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// chromium is Debian's build; playwright-core drives it over CDP.
const chromium = "/usr/bin/chromium"

// TestBrowserEndToEnd runs the tracker as a visitor's browser does: Debian's
// Chromium (driven by test/e2e.mjs) visits a small site served here under a
// strict Content-Security-Policy, loads /m.js from a real `mote serve`
// (built from this tree, so it serves the embedded dist/m.js), and the rows
// that land in a real ClickHouse are checked here. e2e.mjs checks what only
// the browser sees: the requests it made, its cookies and storage, CSP
// violations.
func TestBrowserEndToEnd(t *testing.T) {
	node := requireNode(t)
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: run `make test-deps` (apt-get install chromium)", chromium)
	}
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	collector, stopMote := startMote(t, srv.DSN(db))
	site := startSite(t, collector)

	cmd := exec.Command(node, "test/e2e.mjs")
	cmd.Env = append(os.Environ(), "SITE_URL="+site, "COLLECTOR_URL="+collector, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("e2e.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("node test/e2e.mjs: %v", err)
	}

	conn, err := chgo.Open(&chgo.Options{Addr: []string{srv.Addr()}, Auth: chgo.Auth{Database: db}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// e2e.mjs saw 202s for every beacon; the batcher writes within 100ms.
	var rows []row
	deadline := time.Now().Add(15 * time.Second)
	for {
		rows, err = readRows(conn)
		if err == nil && hasRow(rows, "engagement", "", "/long") && hasRow(rows, "pageview", "", "/consent") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		t.Logf("row: %+v", r)
	}

	local := "http://localhost:" + portOf(t, site)
	elsewhere := "http://127.0.0.1:" + portOf(t, site)
	count := func(kind, name, path string) int {
		n := 0
		for _, r := range rows {
			if r.Kind == kind && r.Name == name && r.Path == path {
				n++
			}
		}
		return n
	}
	find := func(kind, name, path string) row {
		t.Helper()
		for _, r := range rows {
			if r.Kind == kind && r.Name == name && r.Path == path {
				return r
			}
		}
		t.Errorf("no %s %q row for %s", kind, name, path)
		return row{}
	}

	// The landing pageview: path and the referrer's host.
	if r := find("pageview", "", "/"); r.RefHost != "news.example" || r.Site != "shop" || r.Host != "localhost" || r.Screen == "" || r.Browser != "Chrome" {
		t.Errorf("landing pageview %+v: want site shop, host localhost, referrer news.example, a screen class, browser Chrome", r)
	}
	// A call queued before the script loaded, with its props.
	if r := find("event", "Queued", "/"); fmt.Sprint(r.Props) != "map[early:yes]" {
		t.Errorf("queued event props %v", r.Props)
	}
	// A download (the page stays) and an outbound click (the page leaves:
	// the beacon must survive the navigation). Query strings stay behind.
	if r := find("event", "File Download", "/"); r.Props["url"] != local+"/files/report.pdf" {
		t.Errorf("download url %q", r.Props["url"])
	}
	if r := find("event", "Outbound Link: Click", "/"); r.Props["url"] != elsewhere+"/away" {
		t.Errorf("outbound url %q", r.Props["url"])
	}
	// SPA: pushState /app/a, /app/b, replaceState /app/b?tab=2 (the same
	// route), back to /app/a (popstate): one pageview per navigation.
	for path, want := range map[string]int{"/app": 1, "/app/a": 2, "/app/b": 1} {
		if got := count("pageview", "", path); got != want {
			t.Errorf("pageviews of %s: %d, want %d", path, got, want)
		}
	}
	if r := find("event", "Signup", "/app/a"); fmt.Sprint(r.Props) != "map[plan:pro]" {
		t.Errorf("Signup props %v", r.Props)
	}
	// Engagement: about a second and a half visible, scrolled to the end.
	if r := find("engagement", "", "/long"); r.EngagementMS < 1000 || r.EngagementMS > 60_000 || r.Scroll != 100 {
		t.Errorf("engagement of /long: %d ms, scroll %d%%; want >= 1000 ms and 100%%", r.EngagementMS, r.Scroll)
	}
	if count("event", "404", "/missing") != 1 {
		t.Errorf("no single 404 event for /missing")
	}
	// Consent required: nothing before mote.consent(true), then the held
	// pageview, once.
	if got := count("pageview", "", "/consent"); got != 1 {
		t.Errorf("pageviews of /consent: %d, want 1", got)
	}
	// The opted-out visitor's pageview before opting out, nothing after.
	if got := count("pageview", "", "/optout"); got != 1 || count("event", "AfterOptOut", "/optout") != 0 {
		t.Errorf("opt-out: %d pageviews of /optout, want 1 and no event after opting out", got)
	}
	// The page without the tracker and the DNT and GPC visits left nothing.
	for _, r := range rows {
		if r.Path == "/away" || strings.HasPrefix(r.Path, "/private/") {
			t.Errorf("stored a row that must not exist: %+v", r)
		}
	}
	// Nor did the collector suppress anything: a DNT or GPC beacon (even
	// one sent while a page unloads, which the browser test cannot see)
	// would be counted here, as would a hit taken for a bot's. The
	// counters are written when mote shuts down.
	stopMote()
	suppressed, err := conn.Query(context.Background(), "SELECT reason, sum(count) FROM suppressed GROUP BY reason")
	if err != nil {
		t.Fatal(err)
	}
	defer suppressed.Close()
	for suppressed.Next() {
		var reason string
		var n uint64
		if err := suppressed.Scan(&reason, &n); err != nil {
			t.Fatal(err)
		}
		t.Errorf("collector suppressed %d hits as %s; the tracker must send none", n, reason)
	}
}

// row is the part of an events row the test checks.
type row struct {
	Site, Kind, Name, Host, Path, RefHost, Screen, Browser string
	EngagementMS                                           uint32
	Scroll                                                 uint8
	Props                                                  map[string]string
}

func hasRow(rows []row, kind, name, path string) bool {
	for _, r := range rows {
		if r.Kind == kind && r.Name == name && r.Path == path {
			return true
		}
	}
	return false
}

func readRows(conn chgo.Conn) ([]row, error) {
	rs, err := conn.Query(context.Background(), `SELECT site_id, toString(kind), name, hostname, pathname,
		referrer_host, screen, browser, engagement_ms, scroll_depth, props.key, props.value FROM events ORDER BY ts`)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		var keys, values []string
		if err := rs.Scan(&r.Site, &r.Kind, &r.Name, &r.Host, &r.Path, &r.RefHost, &r.Screen, &r.Browser,
			&r.EngagementMS, &r.Scroll, &keys, &values); err != nil {
			return nil, err
		}
		r.Props = map[string]string{}
		for i := range keys {
			r.Props[keys[i]] = values[i]
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, rs.Err()
}

// startMote builds cmd/mote from this tree and runs `mote serve` on free
// loopback ports, storing into dsn. It returns the collector's base URL and
// stop, which sends SIGTERM and waits for the drain; the test's end calls it
// too.
func startMote(t *testing.T, dsn string) (string, func()) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "mote")
	// go test puts its own go command first on PATH.
	build := exec.Command("go", "build", "-o", bin, "./cmd/mote")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/mote: %v\n%s", err, out)
	}
	config := filepath.Join(dir, "mote.yaml")
	err := os.WriteFile(config, []byte(fmt.Sprintf(`collector:
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
log_level: info
sites:
  - id: shop
    hostnames: [localhost]
  - id: strict
    hostnames: [localhost]
    consent: required
`, dsn, filepath.Join(dir, "spool"))), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "-config", config)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	// The listeners bind port 0; the "mote serving" line names them.
	addr := make(chan string, 1)
	go func() {
		defer close(done)
		serving := regexp.MustCompile(`msg="mote serving" collector=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := serving.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
			t.Log("mote: " + line)
		}
		cmd.Wait()
	}()
	select {
	case a := <-addr:
		return "http://" + a, stop
	case <-done:
		t.Fatal("mote serve exited before serving")
	case <-time.After(60 * time.Second):
		t.Fatal("mote serve did not start within 60s")
	}
	return "", nil
}

func portOf(t *testing.T, base string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return port
}
