//go:build !race

// Allocation guards: the race detector adds allocations, so these run
// without it.

package enrich

import (
	"context"
	"testing"
	"time"
)

func TestSaltKeeperVisitorIDAllocs(t *testing.T) {
	now := time.Date(2026, 5, 2, 0, 5, 0, 0, time.UTC)
	k := NewSaltKeeper(SaltConfig{Now: func() time.Time { return now }})
	k.install(dayNumber(now)-1, [32]byte{1}, false)
	if err := k.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	var live Liveness = liveSet{1}
	allocs := testing.AllocsPerRun(200, func() {
		k.VisitorID(now, "demo", testIP, testUA, live)
	})
	if allocs != 0 {
		t.Fatalf("SaltKeeper.VisitorID allocates %v times, want 0", allocs)
	}
}
