package storage

import (
	"testing"
	"time"

	"github.com/mote-analytics/mote"
)

// TestDayChangesSlots: an event marks its 15-minute UTC slot, in both
// counters; a visit marks its first and last hit's slots and one every 12
// hours between, so that every day it touches, in any zone, is marked,
// and never the hits' counter (a visit going on must not make its
// morning's prefix summary stale).
func TestDayChangesSlots(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	c := dayChanges{}
	c.addEvents([]mote.Event{{SiteID: "a", TS: at("2026-12-01 10:14:59")}, {SiteID: "a", TS: at("2026-12-01 10:00:00")}, {SiteID: "b", TS: at("2026-12-01 10:15:00")}})
	c.addSessions([]mote.SessionRow{
		{SiteID: "a", StartTS: at("2026-12-01 23:50:00"), EndTS: at("2026-12-02 00:10:00")},
		{SiteID: "r", StartTS: at("2026-12-01 01:00:00"), EndTS: at("2026-12-02 07:20:00")}, // a 30-hour robot visit
	})
	want := dayChanges{
		{"a", at("2026-12-01 10:00:00").Unix()}: {n: 2, hits: 2},
		{"b", at("2026-12-01 10:15:00").Unix()}: {n: 1, hits: 1},
		{"a", at("2026-12-01 23:45:00").Unix()}: {n: 1},
		{"a", at("2026-12-02 00:00:00").Unix()}: {n: 1},
		{"r", at("2026-12-01 01:00:00").Unix()}: {n: 1},
		{"r", at("2026-12-01 13:00:00").Unix()}: {n: 1},
		{"r", at("2026-12-02 01:00:00").Unix()}: {n: 1},
		{"r", at("2026-12-02 07:15:00").Unix()}: {n: 1},
	}
	if len(c) != len(want) {
		t.Errorf("%d slots marked, want %d: %v", len(c), len(want), c)
	}
	for k, n := range want {
		if c[k] != n {
			t.Errorf("slot %s %s: %+v, want %+v", k.site, time.Unix(k.slot, 0).UTC().Format(time.DateTime), c[k], n)
		}
	}
}
