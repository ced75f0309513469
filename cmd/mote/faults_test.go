package main

// The fault-injection suite (make test-faults; make test runs it with
// everything else): ClickHouse SIGKILLed and restarted under load, the
// collector SIGKILLed and restarted under load, and ClickHouse behind a
// proxy that delays every byte and cuts connections. After each, every
// hit answered 200 is stored exactly once, counted per hit id (each hit
// has its own path), and the sessions table, folded as the dashboards
// read it, equals the visits an independent sessionizer computes from the
// stored events (checkVisits): no visit row lost or doubled, no visit
// split by a restart.
// TestFaultSmugglingThroughProxies (smuggling_test.go) puts the shipped
// nginx and HAProxy configs in front and sends request-smuggling shapes.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage/spool"
)

// faultRounds is how many times each fault is injected.
const faultRounds = 3

// load sends pixel hits with unique paths from a few workers until
// stopped, and remembers what happened to each.
type load struct {
	name   string
	client *http.Client
	base   atomic.Pointer[string]
	seq    atomic.Int64
	pace   time.Duration // each worker's pause between hits

	mu        sync.Mutex
	accepted  []string // answered 200: must be stored exactly once
	uncertain []string // no answer (connection broke): stored at most once
	refused   []string // answered otherwise: must not be stored
	stop      chan struct{}
	wg        sync.WaitGroup
}

func startLoad(name, base string, workers int) *load {
	return startLoadPaced(name, base, workers, 10*time.Millisecond)
}

func startLoadPaced(name, base string, workers int, pace time.Duration) *load {
	l := &load{
		name:   name,
		pace:   pace,
		client: &http.Client{Timeout: 10 * time.Second, Transport: browserTransport{}},
		stop:   make(chan struct{}),
	}
	l.base.Store(&base)
	for w := range workers {
		l.wg.Go(func() { l.work(w) })
	}
	return l
}

// loadVisitors is how many visitors each worker plays in turn: a visitor's
// hits are sent one after the other, so their order is the send order.
const loadVisitors = 10

// referrers are what the load's hits come from, in turn: a visit's source
// is its first hit's, whatever later hits say.
var referrers = []string{"https://www.google.com/search", "", "https://news.ycombinator.com/item", "https://www.bing.com/"}

func (l *load) work(worker int) {
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		case <-time.After(l.pace):
		}
		p := fmt.Sprintf("/%s/%d", l.name, l.seq.Add(1))
		q := url.Values{"s": {"shop"}, "u": {"https://shop.example" + p}}
		if r := referrers[(i/loadVisitors+worker)%len(referrers)]; r != "" {
			q.Set("r", r)
		}
		req, _ := http.NewRequest("GET", *l.base.Load()+"/p.gif?"+q.Encode(), nil)
		req.Header.Set("User-Agent", visitLoadUA(worker*loadVisitors+i%loadVisitors))
		resp, err := l.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		l.mu.Lock()
		switch {
		case err != nil:
			l.uncertain = append(l.uncertain, p)
		case resp.StatusCode == 200:
			l.accepted = append(l.accepted, p)
		default:
			l.refused = append(l.refused, p)
		}
		l.mu.Unlock()
	}
}

// finish stops the workers and waits for their last requests.
func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

// verify waits until every accepted hit is stored, then checks that each
// is stored exactly once, that no hit is stored twice and that nothing
// refused or never sent is stored. It logs the tally for BENCHMARKS.md.
func (l *load) verify(t *testing.T, addr, db, fault string) {
	t.Helper()
	conn := openDB(t, addr, db)
	deadline := time.Now().Add(90 * time.Second)
	var got map[string]uint64
	for {
		var err error
		got, err = countByPath(conn)
		missing := 0
		for _, p := range l.accepted {
			if got[p] == 0 {
				missing++
			}
		}
		if err == nil && missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d accepted hits not stored after 90s (last error %v)", fault, missing, len(l.accepted), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(l.accepted) < 100 {
		t.Fatalf("%s: only %d hits accepted: the load did not run", fault, len(l.accepted))
	}
	known := make(map[string]bool, len(l.accepted)+len(l.uncertain))
	for _, p := range l.accepted {
		known[p] = true
	}
	for _, p := range l.uncertain {
		known[p] = true
	}
	var lost, dups, strays, uncertainStored int
	for _, p := range l.accepted {
		if got[p] == 0 {
			lost++
		}
	}
	for p, n := range got {
		switch {
		case !known[p]:
			strays++
			t.Errorf("%s: %s stored %d times but was refused or never sent", fault, p, n)
		case n > 1:
			dups++
			t.Errorf("%s: %s stored %d times", fault, p, n)
		}
	}
	for _, p := range l.uncertain {
		if got[p] > 0 {
			uncertainStored++
		}
	}
	t.Logf("%s: %d faults survived; accepted %d, stored %d distinct; lost %d, duplicates %d; refused %d, unanswered %d (of which stored %d)",
		fault, faultRounds, len(l.accepted), len(got), lost, dups, len(l.refused), len(l.uncertain), uncertainStored)
	if lost != 0 || dups != 0 || strays != 0 {
		t.Fatalf("%s: lost %d, duplicates %d, stored without being sent %d", fault, lost, dups, strays)
	}
}

// TestFaultClickHouseKilled SIGKILLs ClickHouse under load and restarts
// it, faultRounds times: hits keep being answered from the spool, and once
// ClickHouse is back everything is stored exactly once (inserts cut by the
// kill are detected by their batch id on replay).
func TestFaultClickHouseKilled(t *testing.T) {
	srv := testenv.StartClickHouse(t)
	db := srv.NewDatabase(t)
	inst := startServe(t, testConfig(t, srv.DSN(db), t.TempDir()))
	l := startLoad("chkill", inst.collector, 4)
	for range faultRounds {
		time.Sleep(time.Second)
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	l.finish()
	if len(l.uncertain)+len(l.refused) != 0 {
		t.Errorf("%d hits unanswered and %d refused while only ClickHouse failed", len(l.uncertain), len(l.refused))
	}
	if v := metricValue(t, inst.admin, "mote_clickhouse_errors_total"); v == 0 {
		t.Error("no ClickHouse error counted: the kills were not felt")
	}
	l.verify(t, srv.Addr(), db, "ClickHouse SIGKILLed under load")
	checkVisits(t, serverSQL(t, srv, db), "ClickHouse SIGKILLed under load")
	expectNoDrops(t, inst.admin)
}

// TestFaultLongOutage stops ClickHouse and sends hits as fast as the
// machine allows until the spool holds more than 16 MiB of visit rows
// (what the removed in-memory session writer held before it dropped rows;
// the 10-minute outage at that rate, compressed), then starts
// ClickHouse again: every accepted hit is stored once and the folded
// sessions table equals the reference sessionizer, with no drop counted.
func TestFaultLongOutage(t *testing.T) {
	srv := testenv.StartClickHouse(t)
	db := srv.NewDatabase(t)
	inst := startServe(t, testConfig(t, srv.DSN(db), t.TempDir()))
	var warm []string // answered before the outage: stored like the rest
	for deadline := time.Now().Add(30 * time.Second); metricValue(t, inst.admin, "mote_batches_total") == 0; time.Sleep(100 * time.Millisecond) {
		p := fmt.Sprintf("/warmup/%d", len(warm))
		resp := pixel(t, inst.collector, "shop", "https://shop.example"+p, nil)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			warm = append(warm, p)
		}
		if time.Now().After(deadline) {
			t.Fatal("storage not reached within 30s")
		}
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	// The share of a hit's record that is visit rows (a continuing visit:
	// cancel + state), to turn spool bytes into visit-row bytes.
	ev := mote.Event{SiteID: "shop", TS: time.Now(), Kind: mote.KindPageview, Hostname: "shop.example", Pathname: "/outage/123456",
		ReferrerHost: "www.google.com", ReferrerSource: "Google", Channel: "Organic Search", Browser: "Firefox", BrowserVersion: "120",
		OS: "Linux", Device: "desktop", Screen: "laptop", VisitorID: 1, SessionID: 2}
	row := mote.SessionRow{SiteID: "shop", SessionID: 2, VisitorID: 1, StartTS: ev.TS, EndTS: ev.TS, Hostname: "shop.example",
		EntryPage: "/outage/123", ExitPage: "/outage/123456", ReferrerHost: "www.google.com", ReferrerSource: "Google",
		Channel: "Organic Search", Browser: "Firefox", OS: "Linux", Device: "desktop", Screen: "laptop", Sign: 1, Version: 9}
	share := 1 - float64(len(spool.AppendEvent(nil, &ev)))/float64(len(spool.AppendRecord(nil, &ev, &row, &row)))
	target := 16 << 20 / share

	l := startLoadPaced("outage", inst.collector, 8, 0)
	began := time.Now()
	for metricValue(t, inst.admin, "mote_spool_pending_bytes") < target {
		if time.Since(began) > 8*time.Minute {
			l.finish()
			t.Fatalf("the spool holds %.0f bytes after 8 minutes, want %.0f", metricValue(t, inst.admin, "mote_spool_pending_bytes"), target)
		}
		time.Sleep(time.Second)
	}
	l.finish()
	t.Logf("outage: %d hits accepted in %s; the spool holds %.1f MiB, about %.1f MiB of them visit rows",
		len(l.accepted), time.Since(began).Round(time.Second), metricValue(t, inst.admin, "mote_spool_pending_bytes")/(1<<20),
		metricValue(t, inst.admin, "mote_spool_pending_bytes")*share/(1<<20))
	if len(l.uncertain)+len(l.refused) != 0 {
		t.Errorf("%d hits unanswered and %d refused while only ClickHouse was down", len(l.uncertain), len(l.refused))
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	l.accepted = append(l.accepted, warm...)
	l.verify(t, srv.Addr(), db, "long ClickHouse outage")
	checkVisits(t, serverSQL(t, srv, db), "long ClickHouse outage")
	expectNoDrops(t, inst.admin)
}

// TestFaultCollectorKilled SIGKILLs `mote serve` (a child process) under
// load and restarts it on the same spool, faultRounds times. A hit in
// flight at the kill may have reached the spool without its answer:
// such hits are allowed to be stored, once.
func TestFaultCollectorKilled(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	spoolDir := t.TempDir()
	port := freePort(t)
	config := testConfig(t, srv.DSN(db), spoolDir)
	// max_wait 1s: most hits are still only in the spool at each kill.
	flags := []string{"-listen", fmt.Sprintf("127.0.0.1:%d", port), "-batch-max-wait", "1s"}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	proc := startProcess(t, config, base, flags...)
	l := startLoad("colkill", base, 4)
	for range faultRounds {
		time.Sleep(1500 * time.Millisecond)
		proc.Process.Signal(syscall.SIGKILL)
		proc.Wait()
		proc = startProcess(t, config, base, flags...)
	}
	time.Sleep(time.Second)
	l.finish()
	l.verify(t, srv.Addr(), db, "collector SIGKILLed under load")
	checkVisits(t, serverSQL(t, srv, db), "collector SIGKILLed under load")
	proc.Process.Signal(syscall.SIGTERM)
	if err := proc.Wait(); err != nil {
		t.Errorf("mote serve after SIGTERM: %v", err)
	}
}

// TestFaultSlowClickHouse puts ClickHouse behind a proxy that holds every
// chunk of bytes for a while in both directions, and cuts all its
// connections faultRounds times: answers do not wait for ClickHouse, and
// the slow or cut inserts end stored exactly once.
func TestFaultSlowClickHouse(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	proxy := startSlowProxy(t, srv.Addr(), 50*time.Millisecond)
	inst := startServe(t, testConfig(t, "clickhouse://"+proxy.addr()+"/"+db, t.TempDir()))
	l := startLoad("slow", inst.collector, 4)
	// Cut only once batches flow, so that the cuts land on inserts (the
	// migrations at start go slowly through the proxy too).
	for deadline := time.Now().Add(60 * time.Second); metricValue(t, inst.admin, "mote_batches_total") == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no batch stored through the proxy within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for range faultRounds {
		time.Sleep(1500 * time.Millisecond)
		proxy.cutInFlight()
	}
	time.Sleep(time.Second)
	l.finish()
	if len(l.uncertain)+len(l.refused) != 0 {
		t.Errorf("%d hits unanswered and %d refused behind a slow ClickHouse", len(l.uncertain), len(l.refused))
	}
	if proxy.cuts.Load() == 0 {
		t.Fatal("the proxy never had a connection to cut: mote did not go through it")
	}
	l.verify(t, srv.Addr(), db, "slow ClickHouse (delaying proxy, connections cut)")
	checkVisits(t, serverSQL(t, srv, db), "slow ClickHouse (delaying proxy, connections cut)")
	expectNoDrops(t, inst.admin)
	if v := metricValue(t, inst.admin, "mote_clickhouse_errors_total"); v == 0 {
		t.Error("no ClickHouse error counted: the cuts were not felt")
	}
}

// expectNoDrops checks that no counter of dropped hits or visits moved:
// visits evicted from a full session cache, hits refused at the spool's
// cap or on a full disk.
func expectNoDrops(t *testing.T, admin string) {
	t.Helper()
	for _, m := range []string{"mote_sessions_evicted_total", "mote_spool_full_rejections_total", "mote_spool_no_space_total"} {
		if v := metricValue(t, admin, m); v != 0 {
			t.Errorf("%s = %v, want 0", m, v)
		}
	}
}

// metricValue reads one sample from the admin listener's /metrics.
func metricValue(t *testing.T, admin, series string) float64 {
	t.Helper()
	resp, err := browser.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("metrics lack %s", series)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// slowProxy forwards TCP to a target, sleeping delay before passing on
// each chunk it reads, in both directions.
type slowProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration
	cuts   atomic.Int64
	// held counts chunks read but not yet passed on: a cut while it is
	// above zero lands in the middle of a request or its answer.
	held atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startSlowProxy(t *testing.T, target string, delay time.Duration) *slowProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{ln: ln, target: target, delay: delay, conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *slowProxy) addr() string { return p.ln.Addr().String() }

func (p *slowProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies src to dst with the delay; when either side ends, both are
// closed.
func (p *slowProxy) pipe(src, dst net.Conn) {
	defer func() {
		src.Close()
		dst.Close()
		p.mu.Lock()
		delete(p.conns, src)
		delete(p.conns, dst)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.held.Add(1)
			time.Sleep(p.delay)
			_, werr := dst.Write(buf[:n])
			p.held.Add(-1)
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every open connection, as a network failure would.
func (p *slowProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.conns) > 0 {
		p.cuts.Add(1)
	}
	for c := range p.conns {
		c.Close()
	}
}

// cutInFlight waits (up to a few seconds) until a chunk is held in the
// proxy and then cuts, so that the cut is felt by the client: a cut between
// requests only closes idle pooled connections, which a driver may replace
// without an error.
func (p *slowProxy) cutInFlight() {
	for deadline := time.Now().Add(5 * time.Second); p.held.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	p.cut()
}

// TestSlowProxyDelays checks the test's own proxy: a round trip through it
// takes at least the delay each way.
func TestSlowProxyDelays(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		c, err := echo.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	p := startSlowProxy(t, echo.Addr().String(), 100*time.Millisecond)
	c, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q %v", buf, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("round trip %v, want at least 200ms", d)
	}
	p.cut()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(buf); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("read after cut: %v, want the connection closed", err)
	}
}
