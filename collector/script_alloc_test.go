// The race detector instruments memory, so allocation counts are only
// meaningful without it.

//go:build !race

package collector

import (
	"net/netip"
	"testing"
)

// TestScriptZeroAllocs guards GET /m.js: a full answer and a 304 allocate
// nothing once the server is warm.
func TestScriptZeroAllocs(t *testing.T) {
	cfg := testConfig()
	cfg.Script = testScript
	s, err := New(cfg, &copyingSink{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, etag string
		status     int
	}{
		{"full", `"stale"`, 200},
		{"not modified", string(s.js.gzipTag), 304},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHandlerCtx(scriptRequest(c.etag), netip.MustParseAddr("192.0.2.1"))
			run := func() {
				if err := h.serve(s); err != nil {
					t.Fatal(err)
				}
			}
			for range 10 {
				run()
			}
			allocs := testing.AllocsPerRun(200, run)
			if got := h.ctx.Response.StatusCode(); got != c.status {
				t.Fatalf("status %d, want %d", got, c.status)
			}
			if allocs != 0 {
				t.Fatalf("GET /m.js allocates %v times, want 0", allocs)
			}
		})
	}
}

func BenchmarkScript(b *testing.B) {
	cfg := testConfig()
	cfg.Script = testScript
	s, err := New(cfg, &copyingSink{})
	if err != nil {
		b.Fatal(err)
	}
	h := newHandlerCtx(scriptRequest(`"stale"`), netip.MustParseAddr("192.0.2.1"))
	b.ReportAllocs()
	for b.Loop() {
		if err := h.serve(s); err != nil {
			b.Fatal(err)
		}
	}
}
