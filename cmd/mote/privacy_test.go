package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
)

// Canary addresses and user agent: after they went through the real server
// path, no table, no spool file and no log line may contain them, nor the
// truncated networks derived from them (privacy invariants 1 and 2).
var (
	canaryIPs = []string{"203.0.113.77", "198.51.100.23", "2001:db8:1234:5678:9abc:def0:1234:5678"}
	// canaryForms are the textual forms an address or its truncation could
	// take in storage or logs.
	canaryForms = []string{
		"203.0.113.77", "203.0.113.0", "203.0.113.", "198.51.100.23", "198.51.100.0", "198.51.100.",
		"2001:db8:1234:5678", "2001:db8:1234::", "2001:0db8:1234", "2001:db8:1234:0:", "20010db8",
		// the IPv4 addresses as IPv4-mapped IPv6 and as integers
		"::ffff:203.0.113.77", "::ffff:cb00:714d", "3405803853", "3325256727",
	}
	canaryUA = "Mozilla/5.0 (X11; Linux x86_64) CanaryBrowser/987.654 (canary-build-31337)"
)

func TestServeStoresNoIPAndNoUserAgent(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	spoolDir := t.TempDir()
	inst := startServe(t, testConfig(t, srv.DSN(db), spoolDir), "-trusted-proxies", "127.0.0.1/32,::1/128")

	n := 0
	for _, ip := range canaryIPs {
		for _, header := range []string{"X-Forwarded-For", "Forwarded"} {
			value := ip
			if header == "Forwarded" {
				value = `for="[` + ip + `]:4711"`
				if !strings.Contains(ip, ":") {
					value = "for=" + ip
				}
			}
			req, _ := http.NewRequest("GET", inst.collector+"/p.gif?s=shop&w=1280&u="+url.QueryEscape("https://shop.example/canary"), nil)
			req.Header.Set(header, value)
			req.Header.Set("User-Agent", canaryUA)
			resp, err := browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			body := `{"s":"shop","n":"Signup","u":"https://shop.example/canary","p":{"k":"v"}}`
			req, _ = http.NewRequest("POST", inst.collector+"/api/event", strings.NewReader(body))
			req.Header.Set(header, value)
			req.Header.Set("User-Agent", canaryUA)
			req.Header.Set("Content-Type", "text/plain")
			if resp, err = browser.Do(req); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			n += 2
		}
	}
	conn := openDB(t, srv.Addr(), db)
	if got := waitStored(t, conn, n, 10*time.Second); got["/canary"] != uint64(n) {
		t.Fatalf("stored %v, want %d canary rows", got, n)
	}
	// The day's salt, as shared through the RAM-only salts table: it must
	// appear nowhere else (privacy invariant 4), in any encoding.
	var saltHex string
	if err := conn.QueryRow(context.Background(), "SELECT hex(any(salt)) FROM salts").Scan(&saltHex); err != nil || len(saltHex) != 64 {
		t.Fatalf("no salt shared while serving (%q, %v)", saltHex, err)
	}
	salt, _ := hex.DecodeString(saltHex)
	saltForms := []string{string(salt), saltHex, strings.ToLower(saltHex), base64.StdEncoding.EncodeToString(salt), base64.RawURLEncoding.EncodeToString(salt)}
	inst.stop()

	haystacks := haystacks(t, srv, db, spoolDir, inst)
	if !strings.Contains(haystacks[0], "shop.example") {
		t.Fatal("the events dump does not hold the stored rows; the search below would prove nothing")
	}
	for i, h := range haystacks {
		for _, form := range append(canaryForms, canaryUA, "CanaryBrowser", "canary-build-31337") {
			if strings.Contains(h, form) {
				t.Errorf("haystack %d (tables, then spool files, then logs) contains %q", i, form)
			}
		}
		if i == 3 { // the salts table itself
			continue
		}
		for _, form := range saltForms {
			if strings.Contains(h, form) {
				t.Errorf("haystack %d (tables, then spool files, then logs) contains the salt", i)
			}
		}
	}
}

// dumpTable returns every row of db.table as TSV, through ClickHouse's HTTP
// interface, so that every column is searched as text.
func dumpTable(t *testing.T, httpAddr, db, table string) string {
	t.Helper()
	q := url.Values{"query": {"SELECT * FROM " + db + "." + table + " FORMAT TabSeparated"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+httpAddr+"/?"+q.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("dump %s: %d %s", table, resp.StatusCode, body)
	}
	return string(body)
}

// privacyTables are dumped in this order by haystacks.
var privacyTables = []string{"events", "sessions", "suppressed", "salts", "campaigns", "schema_migrations", "share_links"}

// haystacks is everything a privacy test searches after serve stopped:
// each table of privacyTables (dumped as text), then each spool file, then
// the log.
func haystacks(t *testing.T, srv *testenv.Server, db, spoolDir string, inst *instance) []string {
	t.Helper()
	var out []string
	for _, table := range privacyTables {
		out = append(out, dumpTable(t, srv.HTTPAddr(), db, table))
	}
	err := filepath.Walk(spoolDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		out = append(out, string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, inst.logs.String())
}
