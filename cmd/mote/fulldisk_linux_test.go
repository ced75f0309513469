package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/spool"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts
// it when the test ends. It fails (never skips) without the privilege to
// mount: a full disk is only believable on a real file system that fills.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Fatalf("mount a %s tmpfs on %s: %v\n"+
			"this test needs root (or CAP_SYS_ADMIN) to make a small file system that fills; run make test as root", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file until the file system refuses.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return
		}
	}
}

// TestServeSpoolFullDisk puts the spool on a 2 MiB tmpfs and fills it:
// hits are answered 503 and counted, nothing panics, and once a filler
// file is deleted ingestion resumes by itself. Afterwards the spool
// reopens cleanly and holds exactly the accepted hits, in order.
func TestServeSpoolFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "2m")
	spoolDir := filepath.Join(mnt, "spool")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()
	// No ClickHouse: nothing drains, so the spool only grows. Small
	// segments, so that segment creation meets the full disk too.
	config := testConfig(t, "clickhouse://"+deadAddr+"/mote", spoolDir)
	yaml, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	yaml = bytes.Replace(yaml, []byte("spool:\n"), []byte("spool:\n  segment_bytes: 65536\n"), 1)
	if err := os.WriteFile(config, yaml, 0o600); err != nil {
		t.Fatal(err)
	}
	inst := startServe(t, config)

	var accepted []string
	hit := func(p string) int {
		code := pixel(t, inst.collector, "shop", "https://shop.example"+p, nil).StatusCode
		switch code {
		case 200:
			accepted = append(accepted, p)
		case 503:
		default:
			t.Fatalf("hit %s: status %d", p, code)
		}
		return code
	}
	for i := range 50 {
		if code := hit(fmt.Sprintf("/before/%d", i)); code != 200 {
			t.Fatalf("hit before the disk filled: %d", code)
		}
	}

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	refused := 0
	for i := 0; i < 2000 && refused < 20; i++ {
		if hit(fmt.Sprintf("/full/%d", i)) == 503 {
			refused++
		}
	}
	if refused < 20 {
		t.Fatalf("the full disk refused %d hits, want 503s", refused)
	}
	if v := metricValue(t, inst.admin, "mote_spool_no_space_total"); v < float64(refused) {
		t.Errorf("mote_spool_no_space_total %v, want at least %d", v, refused)
	}
	if v := metricValue(t, inst.admin, `mote_hits_rejected_total{reason="unavailable"}`); v < float64(refused) {
		t.Errorf(`mote_hits_rejected_total{reason="unavailable"} %v, want at least %d`, v, refused)
	}
	if resp, err := browser.Get(inst.collector + "/readyz"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != 503 {
		t.Errorf("/readyz with a full disk and no storage: %d, want 503", resp.StatusCode)
	}

	// Space returns: within a few probe intervals hits are taken again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; hit(fmt.Sprintf("/resume/%d", i)) != 200; i++ {
		if time.Now().After(deadline) {
			t.Fatal("ingestion did not resume within 10s of space returning")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range 200 {
		if code := hit(fmt.Sprintf("/after/%d", i)); code != 200 {
			t.Fatalf("hit after space returned: %d", code)
		}
	}

	inst.stop()
	if inst.err != nil {
		t.Fatalf("serve: %v", inst.err)
	}
	sp, err := spool.Open(spool.Config{Dir: spoolDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("reopen the spool: %v", err)
	}
	defer sp.Close()
	if st := sp.Counters(); st.TruncatedBytes != 0 {
		t.Errorf("reopen cut %d torn bytes", st.TruncatedBytes)
	}
	got := spooledPaths(t, sp)
	if len(got) != len(accepted) {
		t.Fatalf("spool holds %d records, %d hits were accepted", len(got), len(accepted))
	}
	for i := range got {
		if got[i] != accepted[i] {
			t.Fatalf("record %d is %s, want %s", i, got[i], accepted[i])
		}
	}
}

// spooledPaths reads every record after the spool's checkpoint.
func spooledPaths(t *testing.T, sp *spool.Spool) []string {
	t.Helper()
	r, err := sp.NewReader(sp.Checkpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for {
		pos, rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read spool at %v: %v", pos, err)
		}
		var e mote.Event
		if err := spool.DecodeEvent(rec, &e); err != nil {
			t.Fatalf("decode record at %v: %v", pos, err)
		}
		out = append(out, e.Pathname)
	}
}
