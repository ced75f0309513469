package dashboards

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBuiltUIIsFresh: the committed ui/app.js, ui/world.json and
// ui/vendor are what `make dashboard-ui` builds from web/ and the pinned
// modules now, so an edit of web/ without a rebuild (or a hand edit of
// the output) is caught. The build also holds the page to its budget.
func TestBuiltUIIsFresh(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is missing: run `make test-deps`")
	}
	if _, err := os.Stat("node_modules/esbuild/package.json"); err != nil {
		t.Fatal("the dashboard's modules are missing: run `make dashboard-deps`")
	}
	out := t.TempDir()
	cmd := exec.Command(node, "web/build.mjs")
	cmd.Env = append(os.Environ(), "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node web/build.mjs: %v\n%s", err, b)
	}
	for _, f := range []string{"app.js", "world.json", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css"} {
		built, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := ui.ReadFile("ui/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(built, committed) {
			t.Errorf("ui/%s differs from what web/build.mjs builds: run make dashboard-ui and commit", f)
		}
	}
}
