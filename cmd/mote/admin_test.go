package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote/dashboards"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
)

func TestAdminCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := adminMain([]string{"hash-password"}, strings.NewReader("s3cret-pass\n"), &out, &errb); code != 0 {
		t.Fatalf("hash-password: %d %s", code, errb.String())
	}
	h := strings.TrimSpace(out.String())
	if err := dashboards.ParsePasswordHash(h); err != nil || !strings.HasPrefix(h, "pbkdf2-sha256$600000$") || strings.Contains(h, "s3cret") {
		t.Errorf("hash %q: %v", h, err)
	}
	out.Reset()
	if code := adminMain([]string{"hash-password"}, strings.NewReader("short\n"), &out, &errb); code != 2 || out.Len() != 0 {
		t.Errorf("short password: %d %q", code, out.String())
	}
	out.Reset()
	if code := adminMain([]string{"new-api-key"}, nil, &out, &errb); code != 0 {
		t.Fatalf("new-api-key: %d", code)
	}
	var key, hash string
	if _, err := fmt.Sscanf(out.String(), "key: %s\nhash: %s\n", &key, &hash); err != nil || dashboards.HashAPIKey(key) != hash {
		t.Errorf("new-api-key printed %q (%v)", out.String(), err)
	}
	if code := adminMain([]string{"nope"}, nil, &out, &errb); code != 2 {
		t.Errorf("unknown admin command: %d", code)
	}
}

func TestConfigAdminAndGoals(t *testing.T) {
	hash, _ := dashboards.HashPassword("pw-for-tests", 1000)
	_, keyHash := dashboards.NewAPIKey()
	env := map[string]string{"MOTE_ADMIN_PASSWORD_HASH": hash, "MOTE_ADMIN_API_KEYS": keyHash + ", " + keyHash, "MOTE_ADMIN_COOKIE_SECURE": "true",
		"MOTE_ADMIN_ALLOWED_HOSTS": "stats.example.com, [::1]"}
	cfg, err := loadConfig(newFlagSet(), []string{"-config", writeConfig(t, minimalSites+
		"    goals:\n      - {name: Signup, event: Signup}\n      - {name: Pricing visit, page: \"/pricing*\"}\n")},
		func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.PasswordHash != hash || len(cfg.Admin.APIKeys) != 2 || !cfg.Admin.CookieSecure || cfg.adminLoopbackOnly() ||
		len(cfg.Admin.AllowedHosts) != 2 || cfg.Admin.AllowedHosts[1] != "[::1]" {
		t.Errorf("admin %+v", cfg.Admin)
	}
	if g := cfg.goals()["demo"]; len(g) != 2 || g[0].Event != "Signup" || g[1].Page != "/pricing*" || g[1].Name != "Pricing visit" {
		t.Errorf("goals %+v", g)
	}
	f := func(file string, env map[string]string, wantKey string) {
		t.Helper()
		_, err := loadConfig(newFlagSet(), []string{"-config", writeConfig(t, file)}, func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), wantKey) {
			t.Errorf("want an error naming %s, got %v", wantKey, err)
		}
		if err != nil && strings.Contains(err.Error(), "plaintext") {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
	f(minimalSites, map[string]string{"MOTE_ADMIN_PASSWORD_HASH": "plaintext"}, "admin.password_hash")
	f("admin:\n  api_keys: [plaintext]\n"+minimalSites, nil, "admin.api_keys[0]")
	f(minimalSites, map[string]string{"MOTE_ADMIN_COOKIE_SECURE": "maybe"}, "admin.cookie_secure")
	f("admin:\n  allowed_hosts: [\"https://stats.example.com/\"]\n"+minimalSites, nil, "admin.allowed_hosts[0]")
	f(minimalSites+"    goals:\n      - {name: X}\n", nil, "sites[0].goals[0]")
	f(minimalSites+"    goals:\n      - {name: X, event: a, page: /b}\n", nil, "sites[0].goals[0]")
	f(minimalSites+"    goals:\n      - {event: a}\n", nil, "sites[0].goals[0]")
	f(minimalSites+"    goals:\n      - {name: X, page: pricing}\n", nil, "sites[0].goals[0]")
	f(minimalSites+"    goals:\n      - {name: X, event: a}\n      - {name: x, event: b}\n", nil, "sites[0].goals[1].name")
}

// TestServeAdminAuth: with a password configured, mote serve's stats API
// and campaigns API need credentials, /metrics and /healthz do not; the
// configured API key and the password work. Without a password, serve
// says in its log that only loopback clients get in.
func TestServeAdminAuth(t *testing.T) {
	srv := testenv.ClickHouse(t)
	hash, _ := dashboards.HashPassword("the-admin-password", 1000)
	key, keyHash := dashboards.NewAPIKey()
	inst := startServe(t, testConfig(t, srv.DSN(srv.NewDatabase(t)), t.TempDir()),
		"-admin-password-hash", hash, "-admin-api-keys", keyHash)
	if strings.Contains(inst.logs.String(), "has no password") {
		t.Error("serve with a password logged that it has none")
	}
	do := func(method, path string, body io.Reader, header ...string) int {
		t.Helper()
		req, _ := http.NewRequest(method, inst.admin+path, body)
		for i := 0; i < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if c := resp.Cookies(); len(c) > 0 && method == "POST" && path == "/login" && resp.StatusCode == 303 {
			return -len(c) // logged in
		}
		return resp.StatusCode
	}
	stats := "/api/v1/stats/aggregate?site=shop&period=day"
	for path, want := range map[string]int{stats: 401, "/api/v1/sites": 401, "/api/v1/campaigns": 401, "/api/v1/share-links": 401, "/metrics": 200, "/healthz": 200} {
		if got := do("GET", path, nil); got != want {
			t.Errorf("GET %s without credentials: %d, want %d", path, got, want)
		}
	}
	if got := do("POST", "/api/v1/campaigns", strings.NewReader(`{"site":"shop","name":"x"}`)); got != 401 {
		t.Errorf("POST campaigns without credentials: %d", got)
	}
	for _, path := range []string{stats, "/api/v1/campaigns"} {
		// 503 until serve has reached ClickHouse (it connects in the
		// background), then 200.
		got := 0
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got = do("GET", path, nil, "Authorization", "Bearer "+key); got != 503 {
				break
			}
		}
		if got != 200 {
			t.Errorf("GET %s with the API key: %d", path, got)
		}
	}
	form := func(pw string) io.Reader { return strings.NewReader(url.Values{"password": {pw}}.Encode()) }
	ct := "application/x-www-form-urlencoded"
	if got := do("POST", "/login", form("wrong"), "Content-Type", ct); got != 401 {
		t.Errorf("wrong password: %d", got)
	}
	if got := do("POST", "/login", form("the-admin-password"), "Content-Type", ct); got != -1 {
		t.Errorf("right password: %d", got)
	}

	open := startServe(t, testConfig(t, srv.DSN(srv.NewDatabase(t)), t.TempDir()))
	if !strings.Contains(open.logs.String(), "admin listener has no password") {
		t.Errorf("no warning in the log:\n%s", open.logs.String())
	}
}

// TestShareCLI: mote share create prints a link once, list shows it
// without its key, revoke marks it revoked.
func TestShareCLI(t *testing.T) {
	srv := testenv.ClickHouse(t)
	dsn := srv.DSN(srv.NewDatabase(t))
	config := testConfig(t, dsn, t.TempDir())
	mote := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(t.Context(), append([]string{"share"}, args...), func(string) string { return "" }, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, stderr := mote("create", "-config", config, "--site", "nope"); code != 2 || !strings.Contains(stderr, "not a configured site") {
		t.Errorf("unknown site: %d %s", code, stderr)
	}
	code, out, stderr := mote("create", "-config", config, "--site", "shop", "--label", "wall")
	key := regexp.MustCompile(`auth=([A-Za-z0-9_-]{43})`).FindStringSubmatch(out)
	id := regexp.MustCompile(`share link (\S+) for site shop`).FindStringSubmatch(out)
	if code != 0 || key == nil || id == nil {
		t.Fatalf("create: %d %q %s", code, out, stderr)
	}
	code, out, _ = mote("list", "-config", config)
	if code != 0 || !strings.Contains(out, id[1]) || !strings.Contains(out, "active") || strings.Contains(out, key[1]) {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, out, _ = mote("revoke", "-config", config, id[1]); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %q", code, out)
	}
	if _, out, _ = mote("list", "-config", config, "--site", "shop"); !strings.Contains(out, "revoked") {
		t.Errorf("list after revoke: %q", out)
	}
	if code, _, _ = mote("revoke", "-config", config, "no-such"); code != 1 {
		t.Errorf("revoke unknown: %d", code)
	}
	// Ids are hex now; one made before may start with '-', and is revoked
	// after "--".
	eng, err := clickhouse.Open(t.Context(), clickhouse.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	old := storage.ShareLink{SiteID: "shop", ID: "-Ab_c9", KeyHash: strings.Repeat("ab", 32), Created: time.Now()}
	if err := storage.NewShareLinks(eng).Create(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := mote("revoke", "-config", config, "--", old.ID); code != 0 || !strings.Contains(out, "share link -Ab_c9 of site shop revoked") {
		t.Errorf("revoke -- %s: %d %q %s", old.ID, code, out, stderr)
	}
}
