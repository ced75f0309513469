package storage

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mote-analytics/mote"
)

// unreachable is storage during an outage: every call fails the way an
// engine fails when its server cannot be reached.
type unreachable struct{}

func (unreachable) ExecSQL(context.Context, string) error              { return ErrUnavailable }
func (unreachable) QuerySQL(context.Context, string) (*Rows, error)    { return nil, ErrUnavailable }
func (unreachable) InsertRowSQL(context.Context, string, ...any) error { return ErrUnavailable }
func (unreachable) InsertRowsSQL(context.Context, string, [][]any) error {
	return ErrUnavailable
}

// syncBuffer is a log sink the test reads while the writer's goroutine
// writes: the race detector sees no order between them in the bubble's
// fake time, so the buffer takes a lock.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A full writer drops rows, and says so: a warning with the count at most
// once a minute, besides the counter.
func TestSessionWriterWarnsOfDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuffer
		w := NewSessionWriter(unreachable{}, SessionWriterConfig{MaxBytes: 100, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		r := &mote.SessionRow{SiteID: "demo", SessionID: 1, EntryPage: "/a", Sign: 1}
		for range 50 {
			w.Append(r)
		}
		time.Sleep(1500 * time.Millisecond) // one flush tick (fake time)
		synctest.Wait()
		dropped := w.Counters().Dropped
		if dropped == 0 {
			t.Fatal("no row dropped: the test did not fill the writer")
		}
		if n := strings.Count(logs.String(), "sessions rows dropped"); n != 1 {
			t.Fatalf("%d drop warnings after the first tick, want 1:\n%s", n, logs.String())
		}
		if !strings.Contains(logs.String(), "dropped_total="+strconv.FormatUint(dropped, 10)) {
			t.Errorf("the warning does not give the count %d:\n%s", dropped, logs.String())
		}
		for range 10 {
			w.Append(r)
		}
		time.Sleep(30 * time.Second) // more drops within the minute: no new warning
		synctest.Wait()
		if n := strings.Count(logs.String(), "sessions rows dropped"); n != 1 {
			t.Fatalf("%d drop warnings within a minute, want 1", n)
		}
		time.Sleep(31 * time.Second) // a minute later: the new drops are told
		synctest.Wait()
		if n := strings.Count(logs.String(), "sessions rows dropped"); n != 2 {
			t.Fatalf("%d drop warnings after a minute, want 2:\n%s", n, logs.String())
		}
		if !strings.Contains(logs.String(), "dropped=10 ") {
			t.Errorf("the second warning does not count the 10 new drops:\n%s", logs.String())
		}
		cancel()
		<-done
	})
}
