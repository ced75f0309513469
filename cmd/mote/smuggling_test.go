package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
)

// TestFaultSmugglingThroughProxies runs the shipped reverse-proxy configs
// (deploy/nginx/mote.conf, deploy/haproxy/haproxy.cfg) in front of `mote
// serve` and sends request-smuggling shapes through them: each hides a
// second request (a pixel hit on /smuggled/...) in the first one's body
// or headers, where a front and a back end that frame requests
// differently would split them. Whatever the proxy forwards, no smuggled
// hit may be stored, and every stored row must be one of the hits the
// test meant to send, with clean fields. A plain hit through each proxy
// before and after the shapes must be stored (the path works, and the
// proxy's pooled connection to the collector was not poisoned). The
// proxies log what they answered each shape.
func TestFaultSmugglingThroughProxies(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	colPort := freePort(t)
	inst := startServe(t, testConfig(t, srv.DSN(db), t.TempDir()), "-listen", fmt.Sprintf("127.0.0.1:%d", colPort))
	collector := fmt.Sprintf("127.0.0.1:%d", colPort)
	// "direct" sends the same shapes to the collector with no proxy: the
	// proxies refuse or re-frame most of them, and the collector must hold
	// on its own (behind another proxy, or none).
	proxies := map[string]string{
		"nginx":   startNginx(t, collector),
		"haproxy": startHAProxy(t, collector),
		"direct":  collector,
	}
	want := map[string]bool{}
	for name, addr := range proxies {
		for _, when := range []string{"before", "after"} {
			if when == "after" {
				for shape, raw := range smugglingShapes(name) {
					codes := rawExchange(t, addr, raw)
					t.Logf("%s %s: answers %v", name, shape, codes)
				}
			}
			p := "/control/" + name + "/" + when
			if code := rawExchange(t, addr, pixelRequest(p, "close")); len(code) != 1 || code[0] != 200 {
				t.Fatalf("%s: plain hit %s answered %v", name, p, code)
			}
			want[p] = true
		}
	}
	conn := openDB(t, srv.Addr(), db)
	waitStored(t, conn, len(want), 30*time.Second)
	time.Sleep(time.Second) // anything smuggled is stored with or before the last control
	got := waitStored(t, conn, len(want), time.Second)
	for p := range want {
		if got[p] != 1 {
			t.Errorf("control hit %s stored %d times, want 1", p, got[p])
		}
	}
	for p, n := range got {
		if !want[p] && !strings.HasPrefix(p, "/first/") {
			t.Errorf("stored %d hits on %s: not a hit the test sent as a request of its own", n, p)
		}
	}
	rows, err := conn.Query(context.Background(), "SELECT name, hostname, pathname, browser, os FROM events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, host, path, browser, os string
		if err := rows.Scan(&name, &host, &path, &browser, &os); err != nil {
			t.Fatal(err)
		}
		if host != "shop.example" || browser != "Chrome" || os != "Windows" || strings.ContainsFunc(name+path, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Errorf("garbage row: name %q host %q path %q browser %q os %q", name, host, path, browser, os)
		}
	}
	inst.stop()
}

const smuggleUA = "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n"

// pixelRequest is a raw GET of a pixel hit on page path p.
func pixelRequest(p, connection string) string {
	return "GET /p.gif?s=shop&u=https%3A%2F%2Fshop.example" + strings.ReplaceAll(p, "/", "%2F") + " HTTP/1.1\r\n" +
		"Host: collect.example.com\r\n" + smuggleUA + "Connection: " + connection + "\r\n\r\n"
}

// smugglingShapes are the classic desync requests, each hiding a pixel
// hit on /smuggled/<proxy>/<shape>.
func smugglingShapes(proxy string) map[string]string {
	out := map[string]string{}
	add := func(shape string, build func(hidden string) string) {
		out[shape] = build(pixelRequest("/smuggled/"+proxy+"/"+shape, "keep-alive"))
	}
	beacon := func(shape string) string {
		return `{"s":"shop","u":"https://shop.example/first/` + proxy + "/" + shape + `"}`
	}
	post := "POST /api/event HTTP/1.1\r\nHost: collect.example.com\r\n" + smuggleUA + "Content-Type: text/plain\r\n"
	chunk := func(s string) string { return strconv.FormatInt(int64(len(s)), 16) + "\r\n" + s + "\r\n" }
	add("CL.TE", func(h string) string {
		body := chunk(beacon("CL.TE")) + "0\r\n\r\n" + h
		return post + "Content-Length: " + strconv.Itoa(len(body)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + body
	})
	add("TE.CL", func(h string) string {
		body := chunk(h) + "0\r\n\r\n"
		return post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + body
	})
	for name, te := range map[string]string{
		"TE space before colon": "Transfer-Encoding : chunked",
		"TE xchunked":           "Transfer-Encoding: xchunked",
		"TE tab":                "Transfer-Encoding:\tchunked",
		"TE list":               "Transfer-Encoding: chunked, identity",
		"TE twice":              "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
		"TE name with space":    "Transfer Encoding: chunked",
		"TE obs-fold":           "X-Pad: x\r\n Transfer-Encoding: chunked",
		"TE bare LF":            "X-Pad: x\nTransfer-Encoding: chunked",
	} {
		add(name, func(h string) string {
			body := "0\r\n\r\n" + h
			return post + te + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		})
	}
	add("GET with a body", func(h string) string {
		return "GET /healthz HTTP/1.1\r\nHost: collect.example.com\r\n" + smuggleUA + "Content-Length: " + strconv.Itoa(len(h)) + "\r\n\r\n" + h
	})
	add("HTTP/1.0 TE", func(h string) string {
		body := "0\r\n\r\n" + h
		return "POST /api/event HTTP/1.0\r\nHost: collect.example.com\r\n" + smuggleUA + "Transfer-Encoding: chunked\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	})
	add("two CL", func(h string) string {
		b := beacon("two CL")
		return post + "Content-Length: " + strconv.Itoa(len(b)) + "\r\nContent-Length: " + strconv.Itoa(len(b)+len(h)) + "\r\n\r\n" + b + h
	})
	return out
}

// rawExchange sends raw on one connection and returns the status codes
// of the answers read until the proxy closes or stays quiet for a second
// (a half-close would make nginx drop the request as abandoned).
func rawExchange(t *testing.T, addr, raw string) []int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	var all []byte
	buf := make([]byte, 4096)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		all = append(all, buf[:n]...)
		if err != nil {
			break
		}
	}
	var codes []int
	for _, line := range strings.Split(string(all), "\r\n") {
		if rest, ok := strings.CutPrefix(line, "HTTP/1."); ok && len(rest) >= 5 {
			if code, err := strconv.Atoi(rest[2:5]); err == nil {
				codes = append(codes, code)
			}
		}
	}
	return codes
}

func proxyTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := "/usr/sbin/" + name; fileExistsAt(p) {
		return p
	}
	t.Fatalf("%s not found: install it with `make test-deps` (or `apt-get install %s`)", name, name)
	return ""
}

func fileExistsAt(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// startNginx runs deploy/nginx/mote.conf, as shipped but for its listen
// address and upstream, and returns the address it listens on.
func startNginx(t *testing.T, collector string) string {
	t.Helper()
	bin := proxyTool(t, "nginx")
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "mote.conf"))
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	conf := replaceAll(t, string(data),
		"server 127.0.0.1:8080 ", "server "+collector+" ",
		"listen 80;", "listen "+addr+";",
		"listen [::]:80;", "")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mote.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	wrapper := "daemon off;\nmaster_process off;\npid " + dir + "/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n" +
		"  client_body_temp_path " + dir + "/body;\n  proxy_temp_path " + dir + "/proxy;\n  fastcgi_temp_path " + dir + "/fastcgi;\n" +
		"  uwsgi_temp_path " + dir + "/uwsgi;\n  scgi_temp_path " + dir + "/scgi;\n  include " + dir + "/mote.conf;\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(wrapper), 0o644); err != nil {
		t.Fatal(err)
	}
	startProxy(t, addr, exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf")))
	return addr
}

// startHAProxy runs deploy/haproxy/haproxy.cfg with its bind address and
// servers pointed at this test.
func startHAProxy(t *testing.T, collector string) string {
	t.Helper()
	bin := proxyTool(t, "haproxy")
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	// maxconn: 100,000 connections need more file descriptors than a
	// test process may open; the framing rules do not depend on it.
	conf := replaceAll(t, string(data),
		"maxconn 100000", "maxconn 1000",
		"bind :80", "bind "+addr,
		"server mote1 127.0.0.1:8080", "server mote1 "+collector,
		"server mote2 127.0.0.1:8090", "server mote2 "+collector)
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startProxy(t, addr, exec.Command(bin, "-db", "-f", path))
	return addr
}

// replaceAll applies old/new pairs, failing when a shipped config no
// longer holds an old string (the test would silently test something
// else).
func replaceAll(t *testing.T, s string, pairs ...string) string {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("shipped proxy config lacks %q", pairs[i])
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return s
}

// startProxy starts cmd in its own process group (nginx forks workers)
// with its output in a file, and waits until addr accepts connections.
func startProxy(t *testing.T, addr string, cmd *exec.Cmd) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "proxy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("%s did not listen on %s: %v\n%s", filepath.Base(cmd.Path), addr, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
