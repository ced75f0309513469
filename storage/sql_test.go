package storage

import "testing"

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
