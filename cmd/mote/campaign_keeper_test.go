package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
)

// testClock is a clock a test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// TestCampaignKeysWipedAtWindowEnd: with a controllable clock, the keeper
// hands the collector a campaign's keys while its window is open, and at
// its end wipes them in storage (new version, OPTIMIZE FINAL) and in
// memory; show then says so, and erase by token is refused.
func TestCampaignKeysWipedAtWindowEnd(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	ctx := context.Background()
	eng, err := clickhouse.Open(ctx, clickhouse.Config{DSN: srv.DSN(db)})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	config := testConfig(t, srv.DSN(db), t.TempDir())
	id := createCampaign(t, config, "--window", "3d")
	s := storage.NewCampaigns(eng)
	c, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.WindowEnd.Sub(c.Created) != 72*time.Hour || c.Wiped() {
		t.Fatalf("created %+v", c)
	}

	clock := &testClock{now: c.WindowEnd.Add(-time.Minute)}
	var logs bytes.Buffer
	k := newCampaignTable(eng, clock.Now, slog.New(slog.NewTextHandler(&logs, nil)))
	if _, ok := k.Lookup(id); ok {
		t.Fatal("known before the first refresh")
	}
	if err := k.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	keys, ok := k.Lookup(id)
	if !ok || keys.Wiped || keys.SiteID != "shop" || !bytes.Equal(keys.Recipient[:], c.RecipientKey) || !bytes.Equal(keys.Link[:], c.LinkKey) {
		t.Fatalf("open window: %+v %v", keys, ok)
	}
	out, _, _ := cli(t, "campaign", "show", "-config", config, id)
	if !strings.Contains(out, "present until") {
		t.Fatalf("show before the end:\n%s", out)
	}

	clock.Set(c.WindowEnd)
	if err := k.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if keys, ok := k.Lookup(id); !ok || !keys.Wiped || keys.Recipient != [16]byte{} || keys.Link != [32]byte{} {
		t.Fatalf("closed window: %+v %v", keys, ok)
	}
	if c, err := s.Get(ctx, id); err != nil || !c.Wiped() {
		t.Fatalf("stored after the wipe: %+v %v", c, err)
	}
	var left uint64
	if err := storage.QueryRow(ctx, eng, "SELECT countIf(recipient_key != '' OR link_key != '') FROM campaigns", &left); err != nil || left != 0 {
		t.Fatalf("%d rows still hold keys (%v)", left, err)
	}
	if !strings.Contains(logs.String(), "keys are wiped") || strings.Contains(strings.ToLower(logs.String()), strings.ToLower(hexOf(c.RecipientKey))) {
		t.Fatalf("keeper log:\n%s", logs.String())
	}

	out, _, code := cli(t, "campaign", "show", "-config", config, id)
	if code != 0 || !strings.Contains(out, "wiped: stored recipient ids can no longer be linked to any token") {
		t.Fatalf("show after the end: %d\n%s", code, out)
	}
	_, errOut, code := cli(t, "erase", "-config", config, "--campaign", id, "--token", "tok-a")
	if code != 1 || !strings.Contains(errOut, "its keys are wiped") || !strings.Contains(errOut, "can no longer be linked") {
		t.Fatalf("erase after the wipe: %d %s", code, errOut)
	}
	if _, errOut, code := cli(t, "campaign", "link", "-config", config, id, "https://shop.example/"); code != 1 || !strings.Contains(errOut, "wiped") {
		t.Fatalf("link after the wipe: %d %s", code, errOut)
	}
	out, _, _ = cli(t, "campaign", "list", "-config", config)
	if !strings.Contains(out, id) || !strings.Contains(out, "wiped") {
		t.Fatalf("list:\n%s", out)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

func TestCampaignCLIUsage(t *testing.T) {
	config := writeConfig(t, "storage:\n  engine: clickhouse\n  clickhouse:\n    dsn: clickhouse://127.0.0.1:1/none\n"+
		"sites:\n  - id: shop\n    hostnames: [shop.example]\n")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"campaign"}, 2, "usage: mote campaign"},
		{[]string{"campaign", "frobnicate"}, 2, "unknown command"},
		{[]string{"campaign", "show", "-config", config}, 2, "want 1 argument"},
		{[]string{"campaign", "create", "-config", config, "--name", "x"}, 2, "--site is required"},
		{[]string{"campaign", "create", "-config", config, "--site", "blog", "--name", "x"}, 2, `site "blog" is not configured`},
		{[]string{"campaign", "create", "-config", config, "--site", "shop"}, 2, "--name is required"},
		{[]string{"campaign", "create", "-config", config, "--site", "shop", "--name", "x", "--window", "0d"}, 2, "--window"},
		{[]string{"campaign", "create", "-config", config, "--site", "shop", "--name", "x", "--id", "a/b"}, 2, "--id"},
		{[]string{"campaign", "link", "-config", config, "c", "javascript:alert(1)"}, 2, "not an absolute http(s) URL"},
		{[]string{"erase", "-config", config, "--campaign", "c"}, 2, "usage: mote erase"},
		{[]string{"erase", "-config", config, "--campaign", "c", "--token", "jane@example.com"}, 2, "not one Mote accepts"},
	} {
		_, errOut, code := cli(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
		if strings.Contains(errOut, "jane@example.com") {
			t.Errorf("%v: the token was echoed", c.args)
		}
	}
	for v, want := range map[string]time.Duration{"30d": 720 * time.Hour, "2w": 336 * time.Hour, "36h": 36 * time.Hour} {
		if got, err := parseWindow(v); err != nil || got != want {
			t.Errorf("parseWindow(%q) = %v, %v", v, got, err)
		}
	}
	for _, v := range []string{"", "d", "-1d", "401d", "x", "1y"} {
		if _, err := parseWindow(v); err == nil {
			t.Errorf("parseWindow(%q) accepted", v)
		}
	}
}
