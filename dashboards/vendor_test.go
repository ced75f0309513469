package dashboards

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestVendoredUPlotIsThePinnedOne: ui/vendor holds the uPlot release that
// package.json pins (make dashboard-ui copies it), so a bumped pin without
// a re-copy, or a hand-edited file, is caught.
func TestVendoredUPlotIsThePinnedOne(t *testing.T) {
	var pkg struct{ Dependencies map[string]string }
	b, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	pin := pkg.Dependencies["uplot"]
	if pin == "" || strings.ContainsAny(pin, "^~<>*x ") {
		t.Fatalf("uplot must be pinned to one version, got %q", pin)
	}
	js, err := ui.ReadFile("ui/vendor/uPlot.iife.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if head := string(js[:min(len(js), 80)]); !strings.Contains(head, "(v"+pin+")") {
		t.Errorf("ui/vendor/uPlot.iife.min.js starts %q, want version %s: run make dashboard-ui", head, pin)
	}
	if _, err := ui.ReadFile("ui/vendor/uPlot.min.css"); err != nil {
		t.Error(err)
	}
}
