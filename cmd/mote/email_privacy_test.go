package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
)

// TestServeEmailStoresNoTokenAndNoIP: recipient tokens (privacy invariant
// 11) and client addresses (invariant 1) of email opens and clicks appear
// in no table, no spool file and no log line; only keyed hashes are kept.
func TestServeEmailStoresNoTokenAndNoIP(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	spoolDir := t.TempDir()
	config := testConfig(t, srv.DSN(db), spoolDir)
	id := createCampaign(t, config)
	inst := startServe(t, config, "-trusted-proxies", "127.0.0.1/32,::1/128")
	out, _, code := cli(t, "campaign", "link", "-config", config, id, "https://shop.example/canary-target", "--base", inst.collector)
	if code != 0 {
		t.Fatal("campaign link failed")
	}
	link := strings.TrimSpace(out)
	tokens := []string{"canary-token-4711", "Canary.Token~0815", "canaryTOKEN_abcdef0123456789"}
	waitTracked(t, strings.Replace(link, "{{TOKEN}}", "warmup", 1))

	n := 1 // the warm-up click
	for i, tok := range tokens {
		ip := canaryIPs[i%len(canaryIPs)]
		for _, target := range []string{
			inst.collector + "/o/" + id + "/" + tok + ".gif",
			strings.Replace(link, "{{TOKEN}}", tok, 1),
		} {
			status, _, _ := emailGet(t, target, canaryUA, "X-Forwarded-For", ip)
			if status != http.StatusOK && status != http.StatusFound {
				t.Fatalf("%s: status %d", target, status)
			}
			n++
		}
	}
	conn := openDB(t, srv.Addr(), db)
	waitStored(t, conn, n, 10*time.Second)
	if got := countRows(t, conn, "SELECT uniqExact(recipient_id) FROM events WHERE recipient_id != 0"); got != uint64(len(tokens))+1 {
		t.Fatalf("%d distinct recipient ids, want %d: the search below would prove nothing", got, len(tokens)+1)
	}
	inst.stop()

	haystacks := haystacks(t, srv, db, spoolDir, inst)
	if !strings.Contains(haystacks[0], "canary-target") {
		t.Fatal("the events dump does not hold the clicks; the search below would prove nothing")
	}
	forms := append(append([]string{}, canaryForms...), canaryUA, "CanaryBrowser", "canary-build-31337", "warmup")
	for _, tok := range tokens {
		forms = append(forms, tok, strings.ToLower(tok))
	}
	for i, h := range haystacks {
		for _, form := range forms {
			if strings.Contains(h, form) {
				t.Errorf("haystack %d (tables, then spool files, then logs) contains %q", i, form)
			}
		}
	}
}
