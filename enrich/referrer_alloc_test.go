//go:build !race

// Allocation guards: the race detector adds allocations, so these run
// without it.

package enrich

import (
	"testing"
)

func TestClassifyReferrerAllocs(t *testing.T) {
	referrers()
	allocs := testing.AllocsPerRun(200, func() {
		ClassifyReferrer("www.google.com", "example.com", "", "")
		ClassifyReferrer("", "example.com", "Google", "cpc")
		ClassifyReferrer("unknown.example.net", "example.com", "", "")
		ClassifyReferrer("semalt.com", "example.com", "", "")
	})
	if allocs != 0 {
		t.Fatalf("ClassifyReferrer allocates %v times per run, want 0", allocs)
	}
}
