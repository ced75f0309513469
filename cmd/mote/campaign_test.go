package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage/stats"
)

// cli runs one mote command in-process.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, func(string) string { return "" }, &out, &errb)
	return out.String(), errb.String(), code
}

// createCampaign runs `mote campaign create` and returns the new id.
func createCampaign(t *testing.T, config string, extra ...string) string {
	t.Helper()
	out, errOut, code := cli(t, append([]string{"campaign", "create", "-config", config, "--site", "shop", "--name", "Spring sale"}, extra...)...)
	if code != 0 {
		t.Fatalf("campaign create: exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`campaign (\S+) created`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("campaign create printed %q", out)
	}
	return m[1]
}

// emailGet sends a GET with the given User-Agent and headers (name, value
// pairs) and returns status, Location and body.
func emailGet(t *testing.T, target, ua string, header ...string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", ua)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), body
}

const (
	chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	gmailUA  = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)

// waitTracked polls a signed click until the collector's campaign table
// has the campaign (the keeper loads it once storage is reached): before
// that a click is 400 and stores nothing.
func waitTracked(t *testing.T, link string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if status, _, _ := emailGet(t, link, chromeUA); status == http.StatusFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the collector never learnt the campaign")
		}
	}
}

// TestServeEmailEndToEnd: a campaign created with the CLI, opens and
// clicks through the real server into ClickHouse, the report, and erase.
func TestServeEmailEndToEnd(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	config := testConfig(t, srv.DSN(db), t.TempDir())
	id := createCampaign(t, config, "--sends", "4", "--window", "2w")
	inst := startServe(t, config)

	out, errOut, code := cli(t, "campaign", "link", "-config", config, id, "https://shop.example/spring?utm_source=mail", "--base", inst.collector)
	if code != 0 {
		t.Fatalf("campaign link: %d %s", code, errOut)
	}
	link := strings.TrimSpace(out)
	if !strings.HasPrefix(link, inst.collector+"/c/"+id+"/{{TOKEN}}?u=") {
		t.Fatalf("link %q", link)
	}
	out, _, code = cli(t, "campaign", "pixel", "-config", config, id, "--base", inst.collector)
	pixelURL := inst.collector + "/o/" + id + "/{{TOKEN}}.gif"
	if code != 0 || !strings.Contains(out, `<img src="`+pixelURL+`"`) {
		t.Fatalf("campaign pixel: %d %q", code, out)
	}
	token := func(u, tok string) string { return strings.Replace(u, "{{TOKEN}}", tok, 1) }

	waitTracked(t, token(link, "tok-a")) // click 1: tok-a, human
	status, loc, _ := emailGet(t, token(link, "tok-a"), chromeUA)
	if status != 302 || loc != "https://shop.example/spring?utm_source=mail" {
		t.Fatalf("click: %d to %q", status, loc)
	}
	// Opens: tok-a twice (a replay), tok-b by Gmail's proxy, one anonymous.
	for _, o := range []struct{ url, ua string }{
		{token(pixelURL, "tok-a"), chromeUA}, {token(pixelURL, "tok-a"), chromeUA},
		{token(pixelURL, "tok-b"), gmailUA}, {inst.collector + "/o/" + id + ".gif", chromeUA},
		{inst.collector + "/o/nosuchcampaign/tok-a.gif", chromeUA},
	} {
		if status, _, body := emailGet(t, o.url, o.ua); status != 200 || len(body) != 43 {
			t.Fatalf("open %s: %d, %d bytes", o.url, status, len(body))
		}
	}
	// Forged and truncated signatures: 400, nothing stored.
	forged := regexp.MustCompile(`s=[^&]+`).ReplaceAllString(link, "s=AAAAAAAAAAAAAAAAAAAAAA")
	truncated := link[:len(link)-3]
	for _, bad := range []string{token(forged, "tok-c"), token(truncated, "tok-c"), token(link, "bad@token")} {
		if status, loc, _ := emailGet(t, bad, chromeUA); status != 400 || loc != "" {
			t.Fatalf("bad link %s: %d %q", bad, status, loc)
		}
	}
	conn := openDB(t, srv.Addr(), db)
	waitStored(t, conn, 6, 10*time.Second)
	inst.stop()

	out, errOut, code = cli(t, "campaign", "report", "-config", config, id, "--json")
	if code != 0 {
		t.Fatalf("report: %d %s", code, errOut)
	}
	var r stats.CampaignReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, out)
	}
	// By hand: opens a, a, b (machine), anonymous = 4; clicks a, a = 2;
	// unique opens a, b = 2 of 4 sends; unique human a; unique clicks a.
	if r.Opens != 4 || r.HumanOpens != 3 || r.MachineOpens != 1 || r.AnonymousOpens != 1 ||
		r.UniqueOpens != 2 || r.UniqueHumanOpens != 1 || r.Clicks != 2 || r.UniqueClicks != 1 ||
		r.OpenRate != 0.5 || r.ClickToOpenRate != 0.5 || len(r.TopLinks) != 1 || r.TopLinks[0].Clicks != 2 ||
		len(r.MachineReasons) != 1 || r.MachineReasons[0].Reason != "gmail_proxy" {
		t.Fatalf("report %+v", r)
	}
	out, _, code = cli(t, "campaign", "report", "-config", config, id)
	if code != 0 || !strings.Contains(out, "click-to-open rate") || !strings.Contains(out, "gmail_proxy") {
		t.Fatalf("text report: %d\n%s", code, out)
	}

	out, errOut, code = cli(t, "erase", "-config", config, "--campaign", id, "--token", "tok-a")
	if code != 0 || !strings.Contains(out, "removed 4 rows") {
		t.Fatalf("erase: %d %q %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, "tok-a") {
		t.Error("erase echoed the token")
	}
	if n := countRows(t, conn, "SELECT count() FROM events WHERE campaign_id = '"+id+"'"); n != 2 {
		t.Fatalf("%d rows left after erase, want 2 (tok-b and the anonymous open)", n)
	}
	if _, errOut, code = cli(t, "erase", "-config", config, "--campaign", id, "--token", "a@b.example"); code != 2 {
		t.Fatalf("erase with an invalid token: %d %s", code, errOut)
	}
}

func countRows(t *testing.T, conn chgo.Conn, q string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
