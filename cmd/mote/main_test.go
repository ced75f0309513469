package main

import (
	"os"
	"testing"

	"github.com/mote-analytics/mote/internal/testenv"
)

// TestMain doubles as the mote binary: the crash test re-executes the test
// binary with MOTE_TEST_RUN_MAIN=1 to get a real `mote serve` process it
// can SIGKILL, without a separate build step.
func TestMain(m *testing.M) {
	if os.Getenv("MOTE_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	testenv.Main(m)
}
