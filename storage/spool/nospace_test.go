package spool

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fullDisk makes a spool's segment writes behave like a full file system:
// while on, a write stores half of its bytes and fails with ENOSPC, as
// write(2) does when the disk fills mid-way.
type fullDisk struct {
	mu sync.Mutex
	on bool
}

func (d *fullDisk) set(on bool) { d.mu.Lock(); d.on = on; d.mu.Unlock() }

func (d *fullDisk) write(f *os.File, b []byte) (int, error) {
	d.mu.Lock()
	on := d.on
	d.mu.Unlock()
	if !on {
		return f.Write(b)
	}
	n, _ := f.Write(b[:len(b)/2])
	return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

// TestSpoolSurvivesFullDisk: a full disk refuses hits without stopping the
// spool or leaving a torn frame behind, and appends succeed again by
// themselves once space is back.
func TestSpoolSurvivesFullDisk(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, Config{Dir: dir, Logger: discardLogger()})
	disk := &fullDisk{}
	s.writeFile = disk.write
	for i := range 5 {
		mustAppend(t, s, fmt.Sprintf("/before/%d", i))
	}

	disk.set(true)
	// Concurrent appenders: some share the failing group, some are
	// refused fast; none may hang or succeed.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			e := testEvent(fmt.Sprintf("/full/%d", i))
			errs <- s.Append(&e)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrNoSpace) {
			t.Fatalf("append on a full disk: %v, want ErrNoSpace", err)
		}
	}
	if s.Accepting() {
		t.Fatal("Accepting with a full disk")
	}
	if st := s.Counters(); st.NoSpace != 20 || st.Appended != 5 {
		t.Fatalf("stats %+v, want 20 refused for space and 5 appended", st)
	}
	if st := s.Counters(); st.PendingBytes <= 0 {
		t.Fatalf("pending bytes %d", st.PendingBytes)
	}

	disk.set(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		e := testEvent("/after/0")
		err := s.Append(&e)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrNoSpace) || time.Now().After(deadline) {
			t.Fatalf("append after space returned: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := 1; i < 5; i++ {
		mustAppend(t, s, fmt.Sprintf("/after/%d", i))
	}
	if !s.Accepting() {
		t.Fatal("not Accepting after space returned")
	}
	want := append(seq("/before/", 0, 5), seq("/after/", 0, 5)...)
	if got, _, _ := readAll(t, s, s.Checkpoint()); !equalStrings(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened: every frame is intact (nothing truncated as torn) and the
	// records are exactly the accepted ones.
	s = openTestSpool(t, Config{Dir: dir, Logger: discardLogger()})
	defer s.Close()
	if st := s.Counters(); st.TruncatedBytes != 0 {
		t.Fatalf("reopen truncated %d bytes: the failed write was left in the segment", st.TruncatedBytes)
	}
	if got, _, _ := readAll(t, s, s.Checkpoint()); !equalStrings(got, want) {
		t.Fatalf("after reopen read %v, want %v", got, want)
	}
}
