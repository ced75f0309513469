package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage/embedded"
)

// TestServeEmbedded is `make run`'s path: mote serve on chDB in-process,
// hits in, the exact rows out of the same data directory.
func TestServeEmbedded(t *testing.T) {
	lib := testenv.ChDBLib(t)
	dataDir := filepath.Join(t.TempDir(), "chdb")
	config := writeConfig(t, fmt.Sprintf(`collector:
  listen: "127.0.0.1:0"
admin:
  listen: "127.0.0.1:0"
storage:
  engine: embedded
  embedded:
    data_dir: %q
    lib: %q
spool:
  dir: %q
batch:
  max_wait: 100ms
sites:
  - id: shop
    hostnames: [shop.example]
`, dataDir, lib, t.TempDir()))
	inst := startServe(t, config)
	for _, p := range []string{"/a", "/b", "/c"} {
		if resp := pixel(t, inst.collector, "shop", "https://shop.example"+p, url.Values{"w": {"1280"}}); resp.StatusCode != 200 {
			t.Fatalf("pixel %s: %d", p, resp.StatusCode)
		}
	}
	if code := postEvent(t, inst.collector, "text/plain", `{"s":"shop","n":"Signup","u":"https://shop.example/d","p":{"plan":"pro"}}`); code != 202 {
		t.Fatalf("POST: %d", code)
	}

	// A second engine on the same data directory shares serve's connection.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng, err := embedded.Open(ctx, embedded.Config{LibPath: lib, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	const q = "SELECT arrayStringConcat(groupArray(concat(toString(kind), ' ', pathname, ' ', screen, ' ', name)), ',') FROM (SELECT * FROM events ORDER BY pathname)"
	want := "pageview /a laptop ,pageview /b laptop ,pageview /c laptop ,event /d  Signup"
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err := eng.Query(ctx, q, "TabSeparatedRaw")
		if err == nil {
			if got = strings.TrimSpace(string(out)); got == want {
				break
			}
		}
	}
	if got != want {
		t.Fatalf("events in chDB:\n got %q\nwant %q", got, want)
	}
	inst.stop()
	if inst.err != nil {
		t.Fatalf("serve after shutdown: %v", inst.err)
	}
}

func TestServeEmbeddedMissingLibrary(t *testing.T) {
	config := writeConfig(t, fmt.Sprintf("storage:\n  engine: embedded\n  embedded:\n    data_dir: %q\n    lib: %q\nspool:\n  dir: %q\n%s",
		t.TempDir(), filepath.Join(t.TempDir(), "libchdb.so"), t.TempDir(), minimalSites))
	cfg, err := loadConfig(newFlagSet(), []string{"-config", config, "-listen", "127.0.0.1:0", "-admin-listen", "127.0.0.1:0"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	err = serve(context.Background(), cfg, newLogger(new(strings.Builder), "error"), nil)
	if err == nil || !strings.Contains(err.Error(), "make chdb") {
		t.Fatalf("serve with no library: %v; want an error that says how to get it", err)
	}
}
