package main

import (
	"strings"
	"testing"
)

// TestConfigDirectShardWrites: the key loads from the file and the
// environment, needs a cluster, and takes only true or false.
func TestConfigDirectShardWrites(t *testing.T) {
	path := writeConfig(t, "storage:\n  engine: clickhouse\n  clickhouse:\n    cluster: mote\n    direct_shard_writes: true\n"+minimalSites)
	cfg, err := loadConfig(newFlagSet(), []string{"-config", path}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Storage.ClickHouse.DirectShardWrites || cfg.Storage.ClickHouse.Cluster != "mote" {
		t.Errorf("file: direct_shard_writes %v cluster %q", cfg.Storage.ClickHouse.DirectShardWrites, cfg.Storage.ClickHouse.Cluster)
	}
	env := map[string]string{"MOTE_CLICKHOUSE_DIRECT_SHARD_WRITES": "false"}
	cfg, err = loadConfig(newFlagSet(), []string{"-config", path}, func(k string) string { return env[k] })
	if err != nil || cfg.Storage.ClickHouse.DirectShardWrites {
		t.Errorf("env false over file true: %v, err %v", cfg.Storage.ClickHouse.DirectShardWrites, err)
	}
	for name, c := range map[string]struct {
		file string
		env  map[string]string
	}{
		"without a cluster": {minimalSites, map[string]string{"MOTE_CLICKHOUSE_DIRECT_SHARD_WRITES": "true"}},
		"not a bool":        {minimalSites, map[string]string{"MOTE_CLICKHOUSE_CLUSTER": "mote", "MOTE_CLICKHOUSE_DIRECT_SHARD_WRITES": "yes please"}},
	} {
		_, err := loadConfig(newFlagSet(), []string{"-config", writeConfig(t, c.file)}, func(k string) string { return c.env[k] })
		if err == nil || !strings.Contains(err.Error(), "storage.clickhouse.direct_shard_writes") {
			t.Errorf("%s: err %v, want one naming storage.clickhouse.direct_shard_writes", name, err)
		}
	}
}
