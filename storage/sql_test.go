package storage

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

// clusterSQL is a storage.SQL that says it runs on a cluster; only the
// names matter to MutationTarget.
type clusterSQL struct {
	SQL
	cluster string
}

func (c clusterSQL) Cluster() string  { return c.cluster }
func (c clusterSQL) Database() string { return "mote" }

func TestMutationTarget(t *testing.T) {
	if got := MutationTarget(clusterSQL{cluster: ""}, "events"); got != "events" {
		t.Errorf("single server: %q", got)
	}
	if got := MutationTarget(clusterSQL{cluster: "web"}, "events"); got != "`mote`.events_local ON CLUSTER web" {
		t.Errorf("cluster: %q", got)
	}
	var plain SQL = clusterSQL{}.SQL
	if got := MutationTarget(plain, "sessions"); got != "sessions" {
		t.Errorf("an engine without Cluster: %q", got)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          "'plain'",
		`it's \ here`:    `'it\'s \\ here'`,
		"a\n\nb\r\t\x00": `'a\n\nb\r\t\0'`,
		"é✓":             "'é✓'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// failingSQL fails every insert with a message that quotes its data, as
// chDB's Values parser does.
type failingSQL struct{ SQL }

func (failingSQL) InsertRowSQL(_ context.Context, _ string, values ...any) error {
	return fmt.Errorf("Cannot parse input: expected ')' before: %v", values)
}

// A salt never reaches an error message (and so never a log), in any form.
func TestSaltKeptOutOfErrors(t *testing.T) {
	salt := [32]byte{'s', 'e', 'c', 'r', 'e', 't', 0xff, 0x01}
	err := NewSalts(failingSQL{}).PutSalt(context.Background(), time.Now(), salt, time.Now())
	if err == nil {
		t.Fatal("no error")
	}
	for _, form := range []string{string(salt[:]), hex.EncodeToString(salt[:]), "secret"} {
		if strings.Contains(err.Error(), form) {
			t.Errorf("error %q holds the salt", err)
		}
	}
}
