package embedded

import (
	"strings"
	"testing"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/enginetest"
)

// TestInsertBeforeMigrate: with no events table the Native header cannot be
// built, and the insert says what to do instead of sending a guess.
func TestInsertBeforeMigrate(t *testing.T) {
	e := newEngine(t, false)
	err := e.InsertEvents(ctx(t), 1, []mote.Event{enginetest.Event(1)})
	if err == nil || !strings.Contains(err.Error(), "run the migrations") {
		t.Fatalf("err = %v, want one that says to run the migrations", err)
	}
}
