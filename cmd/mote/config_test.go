package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mote.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const minimalSites = "sites:\n  - id: demo\n    hostnames: [example.com]\n"

func TestConfigInvalidNamesKeyAndExits2(t *testing.T) {
	f := func(name, file string, env map[string]string, flags []string, wantKey string) {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"migrate", "-config", writeConfig(t, file)}, flags...)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
			if code != 2 {
				t.Fatalf("exit code %d, want 2; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), wantKey) {
				t.Fatalf("stderr %q does not name %q", stderr.String(), wantKey)
			}
		})
	}
	f("unknown key", "colector:\n  listen: x\n"+minimalSites, nil, nil, `unknown key "colector"`)
	f("no sites", "log_level: info\n", nil, nil, "config sites:")
	f("bad consent", "sites:\n  - id: demo\n    hostnames: [example.com]\n    consent: maybe\n", nil, nil, "sites[0].consent")
	f("bad timezone", "sites:\n  - id: demo\n    hostnames: [example.com]\n    timezone: Mars/Base\n", nil, nil, "sites[0].timezone")
	f("host with scheme", "sites:\n  - id: demo\n    hostnames: [\"https://example.com\"]\n", nil, nil, "sites[0].hostnames[0]")
	f("duplicate site", minimalSites+"  - id: demo\n    hostnames: [b.example]\n", nil, nil, "sites[1].id")
	f("bad proxy cidr", "collector:\n  trusted_proxies: [10.0.0.0/99]\n"+minimalSites, nil, nil, "collector.trusted_proxies[0]")
	f("bad env duration", minimalSites, map[string]string{"MOTE_BATCH_MAX_WAIT": "soon"}, nil, "batch.max_wait (env MOTE_BATCH_MAX_WAIT)")
	f("bad flag number", minimalSites, nil, []string{"-spool-max-bytes", "lots"}, "spool.max_bytes (flag -spool-max-bytes)")
	f("bad dsn", minimalSites, map[string]string{"MOTE_CLICKHOUSE_DSN": "http://x"}, nil, "storage.clickhouse.dsn")
	f("bad log level", "log_level: loud\n"+minimalSites, nil, nil, "log_level")
	f("missing explicit file", "", nil, []string{"-config", filepath.Join(t.TempDir(), "absent.yaml")}, "config file")
}

func TestConfigPrecedenceFileEnvFlag(t *testing.T) {
	path := writeConfig(t, "collector:\n  listen: \":1000\"\nbatch:\n  max_wait: 3s\nspool:\n  dir: from-file\n"+minimalSites)
	env := map[string]string{"MOTE_LISTEN": ":2000", "MOTE_SPOOL_DIR": "from-env"}
	fs := newFlagSet()
	cfg, err := loadConfig(fs, []string{"-config", path, "-listen", ":3000"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Collector.Listen != ":3000" {
		t.Errorf("listen = %q, want the flag's :3000", cfg.Collector.Listen)
	}
	if cfg.Spool.Dir != "from-env" {
		t.Errorf("spool dir = %q, want the env's", cfg.Spool.Dir)
	}
	if cfg.Batch.MaxWait != 3*time.Second {
		t.Errorf("max_wait = %v, want the file's 3s", cfg.Batch.MaxWait)
	}
	if cfg.Admin.Listen != "127.0.0.1:8081" {
		t.Errorf("admin listen default = %q, want localhost only", cfg.Admin.Listen)
	}
	sites := cfg.sites()
	if len(sites) != 1 || sites[0].Consent != "exempt" || sites[0].Timezone != "UTC" {
		t.Errorf("site defaults not applied: %+v", sites)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	cfg, err := loadConfig(newFlagSet(), []string{"-config", "../../mote.example.yaml"}, func(string) string { return "" })
	if err != nil {
		t.Fatalf("mote.example.yaml: %v", err)
	}
	if len(cfg.Sites) == 0 || cfg.Sites[0].ID != "demo" {
		t.Fatalf("example config lost its demo site: %+v", cfg.Sites)
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"version"}, os.Getenv, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "mote ") {
		t.Fatalf("version: code %d out %q", code, out.String())
	}
	if code := run(context.Background(), []string{"frobnicate"}, os.Getenv, &out, &errOut); code != 2 {
		t.Fatalf("unknown command: code %d, want 2", code)
	}
}

func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("mote", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
