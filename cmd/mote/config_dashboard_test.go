package main

import (
	"strings"
	"testing"

	"github.com/mote-analytics/mote"
)

// TestConfigKAnonymity: unset means the default (mote.Site's zero value),
// 0 turns folding off, a negative k is refused with its key.
func TestConfigKAnonymity(t *testing.T) {
	f := func(line string, want int) {
		t.Helper()
		cfg, err := loadConfig(newFlagSet(), []string{"-config", writeConfig(t, minimalSites+line)}, func(string) string { return "" })
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if got := cfg.sites()[0].KAnonymity; got != want {
			t.Errorf("%q: KAnonymity %d, want %d", line, got, want)
		}
	}
	f("", 0)
	f("    k_anonymity: 0\n", -1)
	f("    k_anonymity: 3\n", 3)
	if mote.DefaultKAnonymity != 5 {
		t.Errorf("default k %d, want 5", mote.DefaultKAnonymity)
	}
	_, err := loadConfig(newFlagSet(), []string{"-config", writeConfig(t, minimalSites+"    k_anonymity: -2\n")}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "sites[0].k_anonymity") {
		t.Errorf("negative k: %v", err)
	}
}
