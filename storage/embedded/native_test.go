package embedded

import (
	"strings"
	"testing"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
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

// TestNativeColumns: nativeBlock.add writes one value per column of
// storage.EventColumns, props.key and props.value where it puts them.
func TestNativeColumns(t *testing.T) {
	if len(storage.EventColumns) != nativeColumns {
		t.Fatalf("storage.EventColumns has %d columns, nativeBlock.add writes %d", len(storage.EventColumns), nativeColumns)
	}
	if storage.EventColumns[27] != "props.key" || storage.EventColumns[28] != "props.value" || storage.EventColumns[34] != "batch_id" {
		t.Fatalf("storage.EventColumns moved the columns nativeBlock.add writes by position: %v", storage.EventColumns)
	}
}
