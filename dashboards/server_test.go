package dashboards

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

func TestRoutes(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "mote_up 1\n") })
	srv := New(Config{Metrics: metrics})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	f := func(method, path string, wantCode int, wantBody string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantCode || (wantBody != "" && string(body) != wantBody) {
			t.Errorf("%s %s = %d %q, want %d %q", method, path, resp.StatusCode, body, wantCode, wantBody)
		}
	}
	f("GET", "/metrics", 200, "mote_up 1\n")
	f("GET", "/healthz", 200, "ok\n")
	f("POST", "/metrics", 405, "")
	f("GET", "/nothing", 404, "")
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

// TestUIBadPaths: a /ui/ path no file can have is 400 or 404, never 500
// (http.FileServerFS answers an invalid name with 500), and needs no
// login to be refused.
func TestUIBadPaths(t *testing.T) {
	base, _ := statsServer(t)
	for _, p := range []string{"/ui/%ff", "/ui/%c0%ae", "/ui/a%ffb.js", "/ui/%c0%ae%c0%ae/index.html", "/ui/x%00.js", "/ui/..%2findex.html", "/ui/%2e%2e/", "/ui/vendor/%fe%ff"} {
		resp, body := get(t, base+p)
		if resp.StatusCode != 404 && resp.StatusCode != 400 {
			t.Errorf("GET %s: %d %q, want 400 or 404", p, resp.StatusCode, body[:min(len(body), 60)])
		}
	}
	for _, p := range []string{"/ui/app.js", "/ui/style.css", "/"} {
		if resp, _ := get(t, base+p); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}
