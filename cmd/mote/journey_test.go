package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestJourney walks the path a newcomer walks, in a fresh copy of this tree
// (the files a commit of it would hold: no bin/, no data/): the README's
// main command `make run`, with ports of its own through MOTE_* variables;
// the banner it prints; a page in Debian's Chromium holding exactly the
// tracker tag of the banner (a pageview, a single-page-app navigation, a
// custom event); the banner's test hit and the README's curl examples,
// read from the README itself so that they cannot drift; every one of
// those hits read back from the stats API; Ctrl-C (SIGINT to the process
// group, as a terminal sends it) and a clean exit; a second `make run`
// that finds the same data.
func TestJourney(t *testing.T) {
	for _, tool := range []string{"make", "git", "node", "curl", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run `make test-deps`", tool)
		}
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: run `make test-deps` (apt-get install chromium)", chromiumPath)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	modules := filepath.Join(root, "tracker-js", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "playwright-core")); err != nil {
		t.Fatal("tracker-js/node_modules/playwright-core is missing: run `make test-deps`")
	}
	tree := copyTree(t, root)
	env := []string{"MOTE_LISTEN=127.0.0.1:" + strconv.Itoa(freePort(t)), "MOTE_ADMIN_LISTEN=127.0.0.1:" + strconv.Itoa(freePort(t))}

	run := startMakeRun(t, tree, env)
	banner := run.banner(t)
	for _, k := range []string{"tracker", "pixel", "test hit", "dashboard"} {
		if banner[k] == "" {
			t.Fatalf("the banner has no %q line:\n%s", k, run.output())
		}
	}
	admin := strings.TrimSuffix(banner["dashboard"], "/")
	collectorURL := regexp.MustCompile(`src="(http://[^"]+)/m\.js"`).FindStringSubmatch(banner["tracker"])
	if collectorURL == nil || !strings.Contains(banner["tracker"], `data-site="demo"`) {
		t.Fatalf("tracker tag %q: want data-site and the collector's /m.js", banner["tracker"])
	}
	col := collectorURL[1]
	if err := getOK(col + "/healthz"); err != nil {
		t.Fatalf("the banner is out but /healthz: %v", err)
	}

	// The browser: a page with exactly the banner's tag.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>journey</title>%s</head><body><h1>Journey</h1></body></html>", banner["tracker"])
	}))
	defer page.Close()
	node := exec.Command("node", "testdata/journey.mjs")
	node.Env = append(os.Environ(), "PAGE_URL="+page.URL+"/journey", "NODE_MODULES="+modules, "CHROMIUM="+chromiumPath)
	if out, err := node.CombinedOutput(); err != nil {
		t.Fatalf("the browser part failed: %v\n%s", err, out)
	}

	// The banner's test hit and the README's examples, as written.
	shell("banner test hit", t, banner["test hit"])
	readme, err := os.ReadFile(filepath.Join(tree, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	examples := sendingHitsExamples(t, string(readme))
	shell("README examples", t, strings.ReplaceAll(examples, "http://localhost:8080", col))

	// Every hit, read back: pageviews by page, events by name.
	want := map[string]float64{"/journey": 1, "/journey/step-2": 1, "/": 2, "/pricing": 1}
	wantEvents := map[string]float64{"Journey Signup": 1, "Signup": 1}
	check := func(when string) {
		t.Helper()
		var pages, events map[string]float64
		deadline := time.Now().Add(30 * time.Second)
		for {
			pages = breakdown(t, admin, "page", "pageviews")
			events = breakdown(t, admin, "event", "events")
			if equalCounts(pages, want) && equalCounts(events, wantEvents) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !equalCounts(pages, want) {
			t.Errorf("%s: pageviews by page %v, want %v", when, pages, want)
		}
		if !equalCounts(events, wantEvents) {
			t.Errorf("%s: events by name %v, want %v", when, events, wantEvents)
		}
	}
	check("after the hits")
	run.interrupt(t)

	run = startMakeRun(t, tree, env)
	run.banner(t)
	check("after a restart")
	run.interrupt(t)
}

const chromiumPath = "/usr/bin/chromium"

// makeRun is a `make run` in its own process group, as in a terminal.
type makeRun struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer // stdout and stderr, interleaved
	lines  chan string  // stdout lines
	exited chan error
}

func startMakeRun(t *testing.T, dir string, env []string) *makeRun {
	t.Helper()
	r := &makeRun{lines: make(chan string, 100), exited: make(chan error, 1)}
	r.cmd = exec.Command("make", "run")
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = writerFunc(func(p []byte) (int, error) { r.mu.Lock(); defer r.mu.Unlock(); return r.out.Write(p) })
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.mu.Lock()
			r.out.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			select {
			case r.lines <- sc.Text():
			default:
			}
		}
		r.exited <- r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	})
	return r
}

func (r *makeRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// banner waits for the banner (up to 5 minutes: a fresh tree builds
// bin/mote first) and returns its "label: text" lines.
func (r *makeRun) banner(t *testing.T) map[string]string {
	t.Helper()
	got := map[string]string{}
	timeout := time.After(5 * time.Minute)
	for {
		select {
		case line := <-r.lines:
			switch k, v, _ := strings.Cut(strings.TrimSpace(line), ":"); k {
			case "tracker", "pixel", "test hit", "dashboard", "metrics", "demo data":
				got[k] = strings.TrimSpace(v)
			}
			if got["dashboard"] != "" && got["demo data"] != "" {
				return got
			}
		case err := <-r.exited:
			t.Fatalf("make run exited (%v) before its banner:\n%s", err, r.output())
		case <-timeout:
			t.Fatalf("no banner from make run in 5 minutes:\n%s", r.output())
		}
	}
}

// interrupt sends SIGINT to the process group, as Ctrl-C does, and
// checks that mote shut down in order and without an error.
func (r *makeRun) interrupt(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
	case <-time.After(time.Minute):
		t.Fatalf("make run still running a minute after Ctrl-C:\n%s", r.output())
	}
	out := r.output()
	if !strings.Contains(out, `msg="shutting down"`) {
		t.Errorf("mote did not shut down in order after Ctrl-C:\n%s", out)
	}
	for _, bad := range []string{"level=ERROR", "spool not fully drained", "panic"} {
		if strings.Contains(out, bad) {
			t.Errorf("Ctrl-C: the output says %q:\n%s", bad, out)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// copyTree copies what a commit of the tree would hold (tracked files and
// new files git does not ignore) into a temporary directory.
func copyTree(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "mote")
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		st, err := os.Lstat(src)
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the working tree, or a link
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func getOK(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return nil
}

// shell runs a script with bash, as a reader pastes it.
func shell(what string, t *testing.T, script string) {
	t.Helper()
	out, err := exec.Command("bash", "-euo", "pipefail", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s\n%s", what, err, script, out)
	}
}

// sendingHitsExamples returns the sh blocks of the README's "Sending hits"
// section, in order, as one script.
func sendingHitsExamples(t *testing.T, readme string) string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n## Sending hits\n")
	if !ok {
		t.Fatal(`README has no "## Sending hits" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var script strings.Builder
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		script.WriteString(m[1])
	}
	if !strings.Contains(script.String(), "curl") {
		t.Fatalf("no curl example in the README's Sending hits section")
	}
	return script.String()
}

// breakdown reads one breakdown of the demo site's last 7 days as a map
// from value to metric.
func breakdown(t *testing.T, admin, property, metric string) map[string]float64 {
	t.Helper()
	q := url.Values{"site": {"demo"}, "period": {"7d"}, "property": {property}, "metrics": {metric}, "limit": {"100"}}
	resp, err := http.Get(admin + "/api/v1/stats/breakdown?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("breakdown %s: %s %s", property, resp.Status, body)
	}
	var out struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("breakdown %s: %v", property, err)
	}
	m := map[string]float64{}
	for _, r := range out.Results {
		v, _ := r["value"].(string)
		n, _ := r[metric].(float64)
		m[v] = n
	}
	return m
}

func equalCounts(got, want map[string]float64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
