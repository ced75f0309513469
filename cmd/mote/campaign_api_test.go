package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage/stats"
)

func apiCall(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCampaignAPIEmbedded: on the embedded engine (where the CLI cannot
// open the data directory while serve runs) a campaign is created, linked,
// tracked and reported through the admin API.
func TestCampaignAPIEmbedded(t *testing.T) {
	lib := testenv.ChDBLib(t)
	config := embeddedConfig(t, lib, filepath.Join(t.TempDir(), "chdb"), "batch:\n  max_wait: 100ms\nsites:\n  - id: shop\n    hostnames: [shop.example]\n")
	inst := startServe(t, config)
	api := inst.admin + "/api/v1/campaigns"

	for body, want := range map[string]int{
		`{"site":"blog","name":"x"}`:                   400,
		`{"site":"shop"}`:                              400,
		`{"site":"shop","name":"x","window":"1000d"}`:  400,
		`{"site":"shop","name":"x","recipient_key":1}`: 400,
		`not json`: 400,
	} {
		if code, out := apiCall(t, "POST", api, body); code != want {
			t.Errorf("create %s: %d %s, want %d", body, code, out, want)
		}
	}
	code, out := apiCall(t, "POST", api, `{"site":"shop","name":"Launch","sends":2,"window":"7d"}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, out)
	}
	var c struct {
		ID        string `json:"campaign_id"`
		KeysWiped bool   `json:"keys_wiped"`
		Pixel     string `json:"pixel"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.ID == "" || c.KeysWiped || c.Pixel != "/o/"+c.ID+"/{{TOKEN}}.gif" {
		t.Fatalf("created %s (%v)", out, err)
	}
	if code, out = apiCall(t, "POST", api+"/"+c.ID+"/links", `{"url":"javascript:alert(1)"}`); code != 400 {
		t.Fatalf("link to javascript: %d %s", code, out)
	}
	if code, _ = apiCall(t, "GET", api+"/nosuch", ""); code != 404 {
		t.Fatalf("unknown campaign: %d", code)
	}
	code, out = apiCall(t, "POST", api+"/"+c.ID+"/links", `{"url":"https://shop.example/launch"}`)
	var link struct{ Link string }
	if code != 200 || json.Unmarshal([]byte(out), &link) != nil {
		t.Fatalf("link: %d %s", code, out)
	}
	// The create refreshed the collector's table: tracked at once.
	click := inst.collector + strings.Replace(link.Link, "{{TOKEN}}", "r-1", 1)
	if status, loc, _ := emailGet(t, click, chromeUA); status != 302 || loc != "https://shop.example/launch" {
		t.Fatalf("click: %d %q", status, loc)
	}
	if status, _, _ := emailGet(t, inst.collector+strings.Replace(c.Pixel, "{{TOKEN}}", "r-2", 1), chromeUA); status != 200 {
		t.Fatalf("open: %d", status)
	}
	var r stats.CampaignReport
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, out = apiCall(t, "GET", api+"/"+c.ID+"/report", "")
		if code == 200 && json.Unmarshal([]byte(out), &r) == nil && r.Opens == 1 && r.Clicks == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("report: %d %s", code, out)
		}
	}
	if r.UniqueOpens != 2 || r.OpenRate != 1 || r.UniqueClicks != 1 || r.ClickToOpenRate != 0.5 {
		t.Fatalf("report %+v", r)
	}
	code, out = apiCall(t, "GET", api, "")
	if code != 200 || !strings.Contains(out, c.ID) || strings.Contains(out, "key\"") {
		t.Fatalf("list: %d %s", code, out)
	}
}
