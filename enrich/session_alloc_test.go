//go:build !race

// Allocation guards: the race detector adds allocations, so these run
// without it.

package enrich

import (
	"testing"
	"time"

	"github.com/mote-analytics/mote"
)

func TestSessionsAllocs(t *testing.T) {
	s := NewSessions(SessionConfig{MaxEntries: 1024})
	var u SessionUpdate
	evs := make([]*mote.Event, 4096)
	for i := range evs {
		evs[i] = hit(mote.KindPageview, uint64(i+1)*0x9e3779b97f4a7c15, 0, "/some/page")
	}
	i := 0
	run := func() {
		ev := evs[i%len(evs)]
		ev.TS = ev.TS.Add(time.Second)
		s.Track(ev, &u)
		i++
	}
	for range 3 * len(evs) {
		run() // warm up: entries, buffers, map
	}
	if allocs := testing.AllocsPerRun(2000, run); allocs != 0 {
		t.Fatalf("Track allocates %v times per hit in steady state, want 0", allocs)
	}
}
