package main

import (
	"io"
	"net"
	"strings"
	"testing"
)

func TestConfigLimits(t *testing.T) {
	load := func(file string, env map[string]string, flags ...string) (*Config, error) {
		return loadConfig(newFlagSet(), append([]string{"-config", writeConfig(t, file)}, flags...), func(k string) string { return env[k] })
	}
	cfg, err := load("collector:\n  rate_limit: 2.5\n  rate_burst: 10\n  max_conns_per_ip: 64\n"+minimalSites, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Collector; c.RateLimit != 2.5 || c.RateBurst != 10 || c.MaxConnsPerIP != 64 {
		t.Fatalf("from file: %+v", c)
	}
	cfg, err = load(minimalSites, map[string]string{"MOTE_RATE_LIMIT": "7", "MOTE_MAX_CONNS_PER_IP": "3"}, "-rate-burst", "9")
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Collector; c.RateLimit != 7 || c.RateBurst != 9 || c.MaxConnsPerIP != 3 {
		t.Fatalf("from env and flags: %+v", c)
	}
	cfg, err = load(minimalSites, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Collector.RateLimit != 0 {
		t.Fatalf("rate limit on by default: %v", cfg.Collector.RateLimit)
	}
	for _, tc := range []struct {
		file  string
		env   map[string]string
		flags []string
		key   string
	}{
		{"collector:\n  rate_limit: -1\n" + minimalSites, nil, nil, "collector.rate_limit"},
		{minimalSites, map[string]string{"MOTE_RATE_LIMIT": "fast"}, nil, "collector.rate_limit (env MOTE_RATE_LIMIT)"},
		{minimalSites, nil, []string{"-rate-limit", "NaN"}, "collector.rate_limit"},
		{"collector:\n  rate_burst: -2\n" + minimalSites, nil, nil, "collector.rate_burst"},
		{"collector:\n  max_conns_per_ip: -1\n" + minimalSites, nil, nil, "collector.max_conns_per_ip"},
	} {
		_, err := load(tc.file, tc.env, tc.flags...)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q %v %v: error %v, want one naming %s", tc.file, tc.env, tc.flags, err, tc.key)
		}
	}
}

// TestServeRateLimitMetric: the limit configured in mote.yaml reaches the
// collector, and its refusals are exported under their own reason.
func TestServeRateLimitMetric(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()
	inst := startServe(t, testConfig(t, "clickhouse://"+deadAddr+"/mote", t.TempDir()), "-rate-limit", "0.001", "-rate-burst", "2")
	var codes []int
	for range 4 {
		codes = append(codes, pixel(t, inst.collector, "shop", "https://shop.example/", nil).StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 || codes[3] != 429 {
		t.Fatalf("statuses %v, want 200 200 429 429", codes)
	}
	resp, err := browser.Get(inst.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `mote_hits_rejected_total{reason="rate_limited"} 2`; !strings.Contains(string(body), want) {
		t.Fatalf("metrics lack %s", want)
	}
	if strings.Contains(string(body), "127.0.0") {
		t.Fatal("metrics name the client network")
	}
}
