//go:build !race

// Allocation guards: the race detector adds allocations, so these run
// without it.

package enrich

import (
	"testing"
)

func TestMinimizeURLAllocs(t *testing.T) {
	var p Page
	urls := []string{
		"https://example.com/pricing?utm_source=newsletter&utm_campaign=spring+sale#plans",
		"https://example.com/app#/orders/42?ref=a&token=s3cr3t",
		"https://example.com/reset/8f14e45fceea167a5a36dedd4bea2543?ref=mail",
		"https://example.com/blog/how-to-grow",
	}
	opt := URLOptions{HashRouting: true}
	for _, u := range urls {
		MinimizeURL(u, opt, &p) // warm the scratch buffer
	}
	allocs := testing.AllocsPerRun(200, func() {
		for _, u := range urls {
			if !MinimizeURL(u, opt, &p) {
				t.Fatal("not ok")
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("MinimizeURL allocates %v times per run, want 0", allocs)
	}
}
