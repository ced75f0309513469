package trackerjs

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"testing"
)

// budget is the gzipped size the tracker must stay within (build.mjs
// enforces the same number when it builds).
const budget = 1500

func TestScriptWithinBudget(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(Script)
	zw.Close()
	if len(Script) == 0 {
		t.Fatal("dist/m.js is empty")
	}
	t.Logf("m.js: %d bytes, %d gzipped", len(Script), buf.Len())
	if buf.Len() > budget {
		t.Fatalf("m.js is %d bytes gzipped, over the %d-byte budget", buf.Len(), budget)
	}
}

// TestScriptFresh rebuilds the tracker and fails when the committed
// dist/m.js (what the binary embeds) is not what the source builds to.
func TestScriptFresh(t *testing.T) {
	node := requireNode(t)
	cmd := exec.Command(node, "build.mjs", "--check")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs --check: %v\n%s", err, out)
	}
}

// requireNode returns node's path and fails (never skips) when node or the
// npm modules are missing.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is missing: run `make test-deps` (apt-get install nodejs npm; npm ci in tracker-js)")
	}
	for _, m := range []string{"node_modules/esbuild", "node_modules/playwright-core"} {
		if _, err := os.Stat(m); err != nil {
			t.Fatalf("%s is missing: run `make test-deps` (npm ci in tracker-js)", m)
		}
	}
	return node
}
