package stats

import (
	"testing"

	"github.com/mote-analytics/mote/storage"
)

// TestDayCountsCountEveryDimension: the Batcher's day counts count every
// breakdown dimension, from the same table and expression as a raw read
// (a dimension they missed would read as empty on a counted day).
func TestDayCountsCountEveryDimension(t *testing.T) {
	for _, name := range Dimensions() {
		d := dimensions[name]
		event, kind, session, ok := storage.CountedDimension(name)
		switch {
		case !ok:
			t.Errorf("%s: not counted", name)
		case d.session != "" && session != d.session:
			t.Errorf("%s: counted from sessions column %q, read from %q", name, session, d.session)
		case d.session == "" && (event != d.event || kind != d.kind):
			t.Errorf("%s: counted from events as %q where %q, read as %q where %q", name, event, kind, d.event, d.kind)
		}
	}
	if _, _, _, ok := storage.CountedDimension("nonesuch"); ok {
		t.Error("an unknown dimension is counted")
	}
}
