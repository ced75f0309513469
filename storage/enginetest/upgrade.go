package enginetest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// testUpgradeMovesCounters: migration 0010 on a database at version 9
// moves daily_stats_changes' counters into daily_stats_slots unchanged (a
// summary's covered value stays valid), counts the stored hits, and drops
// the old table; a crash after that drop, before 0010 is recorded, has it
// run again without an error and without changing the summaries' counter.
func testUpgradeMovesCounters(t *testing.T, e Inspector) {
	c := ctx(t)
	migrate(t, e)
	all, err := storage.Schema{Server: e.ServerVersion()}.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var createChanges string
	for _, s := range all[8].Statements {
		if strings.Contains(s, "CREATE TABLE IF NOT EXISTS daily_stats_changes") {
			createChanges = s
		}
	}
	if all[8].Version != 9 || createChanges == "" {
		t.Fatalf("migration 9 (%s) does not create daily_stats_changes", all[8].Name)
	}
	slotA := recent.Truncate(time.Hour)
	slotB, slotC := slotA.Add(storage.ChangeSlot), slotA.Add(2*storage.ChangeSlot)
	ev := func(ts time.Time, visitor uint64) mote.Event {
		return mote.Event{SiteID: "up", TS: ts, Kind: mote.KindPageview, Hostname: "up.example", Pathname: "/", VisitorID: visitor, SessionID: visitor}
	}
	if err := e.InsertEvents(c, 1, []mote.Event{ev(slotA, 1), ev(slotA.Add(time.Minute), 2), ev(slotB, 3)}); err != nil {
		t.Fatal(err)
	}
	// Back to version 9: its counter table with counts of its own, none of
	// 0010's tables, 0010 not recorded.
	toVersion9 := func() {
		t.Helper()
		for _, s := range []string{"DROP TABLE IF EXISTS daily_stats_prefixes", "TRUNCATE TABLE schema_migrations",
			"INSERT INTO schema_migrations (version, name, applied_at) SELECT toUInt32(number), 'before 0010', now() FROM system.numbers LIMIT 1, 9"} {
			if err := e.ExecSQL(c, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	toVersion9()
	for _, s := range []string{"DROP TABLE daily_stats_slots", createChanges} {
		if err := e.ExecSQL(c, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	err = e.InsertRowsSQL(c, "INSERT INTO daily_stats_changes (site_id, slot, n)",
		[][]any{{"up", slotA, uint64(7)}, {"up", slotA, uint64(3)}, {"up", slotC, uint64(5)}})
	if err != nil {
		t.Fatal(err)
	}
	counters := func() string {
		t.Helper()
		rows, err := e.QuerySQL(c, "SELECT toString(toUnixTimestamp(slot)), sum(n), sum(hits) FROM daily_stats_slots WHERE site_id = 'up' GROUP BY slot ORDER BY slot")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := range rows.Values {
			var slot string
			var n, hits uint64
			if err := rows.Scan(i, &slot, &n, &hits); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s:%d/%d", slot, n, hits))
		}
		return strings.Join(out, " ")
	}
	unix := func(slot time.Time) string { return strconv.FormatInt(slot.Unix(), 10) }
	gone := func(when string) {
		t.Helper()
		if n := queryUint(t, e, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'daily_stats_changes'"); n != 0 {
			t.Errorf("%s: daily_stats_changes is still there", when)
		}
	}
	migrate(t, e)
	want := unix(slotA) + ":10/2 " + unix(slotB) + ":0/1 " + unix(slotC) + ":5/0"
	if got := counters(); got != want {
		t.Errorf("after 0010: slot:n/hits %s, want %s", got, want)
	}
	gone("after 0010")
	// A crash after the drop: 0010 runs again.
	toVersion9()
	migrate(t, e)
	want = unix(slotA) + ":10/4 " + unix(slotB) + ":0/2 " + unix(slotC) + ":5/0"
	if got := counters(); got != want {
		t.Errorf("0010 again after a crash: slot:n/hits %s, want %s (n unchanged, hits counted again)", got, want)
	}
	gone("0010 again")
}
