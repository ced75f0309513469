package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDeployConfigs loads the mote.yaml files shipped in deploy/ (the one
// compose and systemd use, and the one inside the Kubernetes ConfigMap)
// through the real loader, so that an example never drifts from the keys
// mote accepts.
func TestDeployConfigs(t *testing.T) {
	check := func(name string, data []byte, wantCluster string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "mote.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg, err := loadConfig(fs, []string{"-config", path}, func(string) string { return "" })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.Storage.Engine != "clickhouse" || cfg.Storage.ClickHouse.Cluster != wantCluster || len(cfg.trustedProxies()) == 0 {
			t.Errorf("%s: engine %q cluster %q trusted proxies %v", name, cfg.Storage.Engine, cfg.Storage.ClickHouse.Cluster, cfg.Collector.TrustedProxies)
		}
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "mote.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	check("deploy/mote.yaml", data, "")

	k8s, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", "collector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(k8s))
	found := false
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if doc.Kind == "ConfigMap" && doc.Data["mote.yaml"] != "" {
			found = true
			check("deploy/kubernetes/collector.yaml ConfigMap", []byte(doc.Data["mote.yaml"]), "mote")
		}
	}
	if !found {
		t.Fatal("deploy/kubernetes/collector.yaml has no ConfigMap with mote.yaml")
	}
}
