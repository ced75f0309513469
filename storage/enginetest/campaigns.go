package enginetest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

func testCampaign(id string, created, windowEnd time.Time) storage.Campaign {
	return storage.Campaign{
		SiteID: "shop", ID: id, Name: "Spring 'sale' \\ \"2026\"", Created: created, WindowEnd: windowEnd, Sends: 10,
		RecipientKey: bytes.Repeat([]byte{0xa5, 0x00, '\n'}, 6)[:16],
		LinkKey:      bytes.Repeat([]byte{0x5a, 0xff, '\''}, 11)[:32],
	}
}

// testCampaignsStore: create, read back (keys byte for byte), refuse a
// taken id, list, and wipe keys exactly when the window has closed.
func testCampaignsStore(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	s := storage.NewCampaigns(e)
	created := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	end := created.AddDate(0, 0, 30)
	a, b := testCampaign("spring", created, end), testCampaign("summer", created.Add(time.Hour), end.AddDate(0, 1, 0))
	for _, cp := range []storage.Campaign{a, b} {
		if err := s.Create(c, cp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create(c, a); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("second create of an id: %v", err)
	}
	if _, err := s.Get(c, "nosuch"); !errors.Is(err, storage.ErrNoCampaign) {
		t.Fatalf("unknown id: %v", err)
	}
	got, err := s.Get(c, "spring")
	if err != nil {
		t.Fatal(err)
	}
	a.Updated = a.Created
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("read back\n got %#v\nwant %#v", got, a)
	}
	all, err := s.List(c)
	if err != nil || len(all) != 2 || all[0].ID != "spring" || all[1].ID != "summer" {
		t.Fatalf("List = %v, %v", all, err)
	}

	// One second before the window ends nothing is wiped; at its end the
	// first campaign's keys go, the second's stay.
	if ids, err := s.WipeClosed(c, end.Add(-time.Second)); err != nil || len(ids) != 0 {
		t.Fatalf("wipe before the end: %v, %v", ids, err)
	}
	if ids, err := s.WipeClosed(c, end); err != nil || !reflect.DeepEqual(ids, []string{"spring"}) {
		t.Fatalf("wipe at the end: %v, %v", ids, err)
	}
	if ids, err := s.WipeClosed(c, end.Add(time.Hour)); err != nil || len(ids) != 0 {
		t.Fatalf("second wipe: %v, %v", ids, err)
	}
	got, err = s.Get(c, "spring")
	if err != nil || !got.Wiped() || got.Name != a.Name || !got.WindowEnd.Equal(end) {
		t.Fatalf("after the wipe: %#v, %v", got, err)
	}
	if other, _ := s.Get(c, "summer"); other.Wiped() || !bytes.Equal(other.LinkKey, b.LinkKey) {
		t.Fatalf("open campaign lost its keys: %#v", other)
	}
	// After OPTIMIZE FINAL no row of the table holds the wiped keys.
	rk, lk := hex.EncodeToString(a.RecipientKey), hex.EncodeToString(a.LinkKey)
	q := "SELECT countIf(recipient_key = " + storage.Quote(rk) + " OR link_key = " + storage.Quote(lk) + ") FROM campaigns WHERE campaign_id = 'spring'"
	if n := queryUint(t, e, q); n != 0 {
		t.Fatalf("%d rows of campaigns still hold the wiped keys", n)
	}
}

// Fixture recipients of the report test.
const (
	r1, r2, r3, r4 = 101, 102, 103, 104
)

// testCampaignReport checks every number of a report against a fixture
// computed by hand, then erases one recipient.
func testCampaignReport(t *testing.T, e Inspector) {
	migrate(t, e)
	c := ctx(t)
	s := storage.NewCampaigns(e)
	camp := testCampaign("spring", recent.AddDate(0, 0, -3), recent.AddDate(0, 0, 27))
	if err := s.Create(c, camp); err != nil {
		t.Fatal(err)
	}
	day1, day2 := recent.Add(-24*time.Hour), recent
	ev := func(at time.Time, kind mote.Kind, rcpt uint64, reason, browser, os, country, link string) mote.Event {
		e := mote.Event{SiteID: "shop", TS: at, Kind: kind, CampaignID: "spring", RecipientID: rcpt,
			MachineReason: reason, Browser: browser, OS: os, Country: country, LinkURL: link}
		if reason != "" {
			e.MachineOpen = 1
		}
		return e
	}
	const linkA, linkB = "https://shop.example/a?utm_source=mail", "https://shop.example/b"
	open, click := mote.KindEmailOpen, mote.KindEmailClick
	events := []mote.Event{
		ev(day1, open, r1, "", "Safari", "macOS", "FR", ""),                                // 1
		ev(day2, open, r1, "", "Safari", "macOS", "FR", ""),                                // 2: replayed open
		ev(day1, open, r2, "apple_mpp", "", "", "US", ""),                                  // 3
		ev(day1.Add(time.Minute), open, r3, "gmail_proxy", "Firefox", "Windows", "US", ""), // 4
		ev(day2, click, r3, "", "Chrome", "Windows", "US", linkA),                          // 5: a click counts as a human open
		ev(day2, click, r1, "", "Safari", "macOS", "FR", linkA),                            // 6
		ev(day2, click, r1, "", "Safari", "macOS", "FR", linkB),                            // 7
		ev(day2, open, 0, "", "Chrome", "Windows", "DE", ""),                               // 8: anonymous
		ev(day1, click, r4, "microsoft_scanner", "", "", "IE", linkA),                      // 9: a scanner's click
	}
	other := ev(day1, open, r1, "", "Safari", "macOS", "FR", "") // another campaign
	other.CampaignID = "autumn"
	otherSite := ev(day1, open, r1, "", "Safari", "macOS", "FR", "") // the same id on another site
	otherSite.SiteID = "blog"
	if err := e.InsertEvents(c, 1, append(events, other, otherSite)); err != nil {
		t.Fatal(err)
	}
	got, err := stats.Campaign(c, e, camp)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := day1.Truncate(24*time.Hour), day2.Truncate(24*time.Hour)
	want := &stats.CampaignReport{
		SiteID: "shop", ID: "spring", Name: camp.Name, Sends: 10, WindowEnd: camp.WindowEnd.Truncate(time.Second),
		Opens: 5, HumanOpens: 3, MachineOpens: 2, AnonymousOpens: 1,
		UniqueOpens: 4, UniqueHumanOpens: 2, Clicks: 4, UniqueClicks: 3,
		OpenRate: 0.4, HumanOpenRate: 0.2, ClickToOpenRate: 0.75,
		TopLinks: []stats.LinkClicks{{URL: linkA, Clicks: 3, UniqueClicks: 3}, {URL: linkB, Clicks: 1, UniqueClicks: 1}},
		Days:     []stats.CampaignDay{{Day: d1, Opens: 3, MachineOpens: 2, Clicks: 1}, {Day: d2, Opens: 2, Clicks: 3}},
		Clients: []stats.EmailClient{
			{Browser: "Safari", OS: "macOS", Opens: 2}, {MachineOpens: 1},
			{Browser: "Chrome", OS: "Windows", Opens: 1}, {Browser: "Firefox", OS: "Windows", MachineOpens: 1},
		},
		Countries:      []stats.CountryOpens{{Country: "FR", Opens: 2}, {Country: "DE", Opens: 1}},
		MachineReasons: []stats.MachineReason{{Reason: "apple_mpp", Hits: 1}, {Reason: "gmail_proxy", Hits: 1}, {Reason: "microsoft_scanner", Hits: 1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("report\n got %+v\nwant %+v", got, want)
	}
	checkReportErase(t, e, s, camp)
}

// checkReportErase erases recipient 1 of testCampaignReport's fixture:
// rows 1, 2, 6 and 7 go; the other campaign's and the other site's rows
// stay, and the report counts what is left.
func checkReportErase(t *testing.T, e Inspector, s *storage.Campaigns, camp storage.Campaign) {
	c := ctx(t)
	n, err := s.Erase(c, camp, r1)
	if err != nil || n != 4 {
		t.Fatalf("Erase = %d, %v; want 4 rows", n, err)
	}
	if n, err := s.Erase(c, camp, r1); err != nil || n != 0 {
		t.Fatalf("second Erase = %d, %v; want 0", n, err)
	}
	if _, err := s.Erase(c, camp, 0); err == nil {
		t.Fatal("erasing the anonymous recipient was accepted")
	}
	if n := queryUint(t, e, "SELECT count() FROM events WHERE recipient_id = 101"); n != 2 {
		t.Fatalf("%d rows of recipient 101 left in other campaigns and sites, want 2", n)
	}
	got, err := stats.Campaign(c, e, camp)
	if err != nil {
		t.Fatal(err)
	}
	if got.Opens != 3 || got.UniqueOpens != 3 || got.UniqueHumanOpens != 1 || got.Clicks != 2 || got.UniqueClicks != 2 {
		t.Fatalf("after erase: %+v", got)
	}
}
