package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
)

func testEvent(path string) mote.Event {
	return mote.Event{
		SiteID: "s1", TS: time.Unix(1_750_000_000, 0).UTC(), Kind: mote.KindPageview,
		Hostname: "example.com", Pathname: path, Browser: "Firefox", VisitorID: 7,
	}
}

func openTestSpool(t testing.TB, cfg Config) *Spool {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("open spool: %v", err)
	}
	return s
}

func mustAppend(t testing.TB, s *Spool, path string) {
	t.Helper()
	e := testEvent(path)
	if err := s.Append(&e); err != nil {
		t.Fatalf("append %s: %v", path, err)
	}
}

// readAll reads every durable record from pos and returns the pathnames,
// their positions and the position after the last one.
func readAll(t testing.TB, s *Spool, pos Position) (paths []string, poss []Position, end Position) {
	t.Helper()
	r, err := s.NewReader(pos)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		p, rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return paths, poss, r.Pos()
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		var e mote.Event
		if err := DecodeEvent(rec, &e); err != nil {
			t.Fatalf("decode at %v: %v", p, err)
		}
		paths = append(paths, e.Pathname)
		poss = append(poss, p)
	}
}

func seq(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

func TestSpoolAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, Config{Dir: dir})
	for _, p := range seq("/a", 0, 50) {
		mustAppend(t, s, p)
	}
	paths, _, end := readAll(t, s, s.Checkpoint())
	if !equalStrings(paths, seq("/a", 0, 50)) {
		t.Fatalf("read back %v", paths)
	}
	if end != s.End() {
		t.Fatalf("reader ended at %v, durable end %v", end, s.End())
	}
	id := s.BatchID(s.Checkpoint())
	if st := s.Counters(); st.Appended != 50 || st.PendingBytes <= 0 || st.Fsyncs == 0 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(&mote.Event{Kind: mote.KindPageview, TS: time.Unix(1, 0)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}

	s = openTestSpool(t, Config{Dir: dir})
	defer s.Close()
	if got := s.BatchID(s.Checkpoint()); got != id {
		t.Fatalf("batch id changed across reopen: %x, was %x", got, id)
	}
	mustAppend(t, s, "/b0")
	paths, _, _ = readAll(t, s, s.Checkpoint())
	if want := append(seq("/a", 0, 50), "/b0"); !equalStrings(paths, want) {
		t.Fatalf("after reopen read %v", paths)
	}
}

func TestSpoolRejectsInvalidEvent(t *testing.T) {
	s := openTestSpool(t, Config{})
	defer s.Close()
	e := testEvent("/x")
	e.Kind = 9
	if err := s.Append(&e); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("err = %v", err)
	}
	e = testEvent(strings.Repeat("x", MaxRecordBytes))
	if err := s.Append(&e); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("oversized: err = %v", err)
	}
}

func TestSpoolConcurrentAppends(t *testing.T) {
	s := openTestSpool(t, Config{SegmentBytes: 64 << 10})
	defer s.Close()
	const writers, each = 32, 150
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			e := testEvent("")
			for i := range each {
				e.Pathname = fmt.Sprintf("/w%d/%d", w, i)
				if err := s.Append(&e); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	paths, _, _ := readAll(t, s, s.Checkpoint())
	if len(paths) != writers*each {
		t.Fatalf("read %d records, want %d", len(paths), writers*each)
	}
	next := make([]int, writers)
	for _, p := range paths {
		var w, i int
		if _, err := fmt.Sscanf(p, "/w%d/%d", &w, &i); err != nil {
			t.Fatalf("bad path %q", p)
		}
		if i != next[w] {
			t.Fatalf("writer %d: record %d read where %d was due (lost, duplicated or reordered)", w, i, next[w])
		}
		next[w]++
	}
	st := s.Counters()
	if st.Segments < 2 {
		t.Fatalf("expected rollover, stats %+v", st)
	}
	t.Logf("%d appends, %d fsyncs, %d segments", st.Appended, st.Fsyncs, st.Segments)
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSpoolTornTail(t *testing.T) {
	damage := map[string]func(t *testing.T, path string){
		"truncated record": func(t *testing.T, path string) {
			st, _ := os.Stat(path)
			if err := os.Truncate(path, st.Size()-3); err != nil {
				t.Fatal(err)
			}
		},
		"flipped byte": func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			b[len(b)-5] ^= 0xff
			os.WriteFile(path, b, 0o600)
		},
		"zero fill": func(t *testing.T, path string) {
			// What some file systems leave after a crash: the size grew, the data did not arrive.
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.Write(make([]byte, 4096))
			f.Close()
		},
		"partial header": func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.Write([]byte{200, 0, 0})
			f.Close()
		},
		"header without payload": func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.Write([]byte{100, 0, 0, 0, 1, 2, 3, 4})
			f.Close()
		},
	}
	for name, dmg := range damage {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTestSpool(t, Config{Dir: dir})
			for _, p := range seq("/t", 0, 10) {
				mustAppend(t, s, p)
			}
			_, poss, _ := readAll(t, s, s.Checkpoint())
			s.Close()
			files := segFiles(t, dir)
			last := files[len(files)-1]
			st, _ := os.Stat(last)
			dmg(t, last)
			st2, _ := os.Stat(last)

			var log logBuf
			s = openTestSpool(t, Config{Dir: dir, Logger: log.logger()})
			defer s.Close()
			want := seq("/t", 0, 10)
			torn := st2.Size() - st.Size() // what the damage appended
			if name == "truncated record" || name == "flipped byte" {
				want = want[:9]
				torn = st2.Size() - int64(poss[9].Offset) // from the damaged record on
			}
			paths, _, _ := readAll(t, s, s.Checkpoint())
			if !equalStrings(paths, want) {
				t.Fatalf("after recovery read %v, want %v", paths, want)
			}
			if got := s.Counters().TruncatedBytes; got != torn {
				t.Fatalf("%d bytes truncated, want %d", got, torn)
			}
			if !strings.Contains(log.String(), fmt.Sprintf("bytes=%d", torn)) {
				t.Fatalf("the log does not report %d bytes removed:\n%s", torn, log.String())
			}
			mustAppend(t, s, "/after")
			paths, _, _ = readAll(t, s, s.Checkpoint())
			if !equalStrings(paths, append(want, "/after")) {
				t.Fatalf("append after recovery: read %v", paths)
			}
		})
	}
}

func TestSpoolCorruptOlderSegmentIsReported(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, Config{Dir: dir, SegmentBytes: 512})
	for _, p := range seq("/c", 0, 40) {
		mustAppend(t, s, p)
	}
	s.Close()
	files := segFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("want several segments, got %d", len(files))
	}
	b, _ := os.ReadFile(files[0])
	b[segmentHeaderSize+frameHeaderSize+3] ^= 1
	os.WriteFile(files[0], b, 0o600)
	_, err := Open(Config{Dir: dir, SegmentBytes: 512})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "segment 1 at offset 16") {
		t.Fatalf("err = %v, want corruption of segment 1 at offset 16", err)
	}
}

func TestSpoolRolloverAndCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SegmentBytes: 1024}
	s := openTestSpool(t, cfg)
	for _, p := range seq("/r", 0, 100) {
		mustAppend(t, s, p)
	}
	nseg := len(segFiles(t, dir))
	if nseg < 5 || s.Counters().Segments != int64(nseg) {
		t.Fatalf("%d segment files, stats %+v", nseg, s.Counters())
	}
	paths, poss, end := readAll(t, s, s.Checkpoint())
	if len(paths) != 100 {
		t.Fatalf("read %d", len(paths))
	}
	// Consume the first 60: segments wholly before record 60 go away.
	if err := s.Commit(poss[60]); err != nil {
		t.Fatal(err)
	}
	if got := len(segFiles(t, dir)); got != nseg-int(poss[60].Segment-poss[0].Segment) {
		t.Fatalf("%d segment files after commit, had %d", got, nseg)
	}
	if err := s.Commit(poss[10]); err == nil {
		t.Fatal("checkpoint moved backwards")
	}
	s.Close()

	s = openTestSpool(t, cfg)
	if s.Checkpoint() != poss[60] {
		t.Fatalf("checkpoint %v after reopen, want %v", s.Checkpoint(), poss[60])
	}
	paths, _, _ = readAll(t, s, s.Checkpoint())
	if !equalStrings(paths, seq("/r", 60, 100)) {
		t.Fatalf("after reopen read %v", paths)
	}
	if err := s.Commit(end); err != nil {
		t.Fatal(err)
	}
	if st := s.Counters(); st.PendingBytes != 0 || st.Segments != 1 {
		t.Fatalf("after consuming everything: %+v", st)
	}
	mustAppend(t, s, "/new")
	paths, _, _ = readAll(t, s, s.Checkpoint())
	if !equalStrings(paths, []string{"/new"}) {
		t.Fatalf("read %v", paths)
	}
	s.Close()
}

func TestSpoolFullAndRecovery(t *testing.T) {
	s := openTestSpool(t, Config{MaxBytes: 4096, SegmentBytes: 1024})
	defer s.Close()
	n := 0
	var err error
	for ; n < 1000; n++ {
		e := testEvent(fmt.Sprintf("/f%d", n))
		if err = s.Append(&e); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) || n == 0 {
		t.Fatalf("after %d appends err = %v, want ErrFull", n, err)
	}
	if st := s.Counters(); st.FullRejections != 1 || st.PendingBytes > 4096 {
		t.Fatalf("stats %+v", st)
	}
	if s.Accepting() {
		t.Fatal("Accepting() after a refusal at the cap")
	}
	_, _, end := readAll(t, s, s.Checkpoint())
	if err := s.Commit(end); err != nil {
		t.Fatal(err)
	}
	if !s.Accepting() {
		t.Fatal("not Accepting() after the consumer freed space")
	}
	mustAppend(t, s, "/after-consume")
	s.Close()
	if s.Accepting() {
		t.Fatal("Accepting() after Close")
	}
}

func TestSpoolWait(t *testing.T) {
	s := openTestSpool(t, Config{})
	end := s.End()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx, end); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait on empty spool: %v", err)
	}
	// The append and the close happen once the waiter is parked.
	parked := make(chan struct{}, 1)
	s.beforeWait = func() {
		select {
		case parked <- struct{}{}:
		default:
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait(context.Background(), end) }()
	<-parked
	mustAppend(t, s, "/w")
	if err := <-done; err != nil {
		t.Fatalf("wait: %v", err)
	}
	go func() { done <- s.Wait(context.Background(), s.End()) }()
	<-parked
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("wait across close: %v", err)
	}
}

// TestSpoolCloseWakesWaiters blocks the committer's fsync, closes the
// spool with appenders waiting, then fails the fsync: every waiter must
// return an error and none may hang.
func TestSpoolCloseWakesWaiters(t *testing.T) {
	s := openTestSpool(t, Config{})
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	s.syncFile = func(*os.File) error {
		entered <- struct{}{}
		<-release
		return errors.New("disk on fire")
	}
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			e := testEvent(fmt.Sprintf("/c%d", i))
			errs <- s.Append(&e)
		}()
	}
	<-entered // the first group is being fsynced; the others queue up
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// The fsync fails once Close has begun.
	waitLocked(t, s, func() bool { return s.closing })
	close(release)
	for range n {
		select {
		case err := <-errs:
			if err == nil {
				t.Fatal("append returned nil though its fsync failed")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("an appender was not woken")
		}
	}
	if err := <-closed; err == nil {
		t.Fatal("close did not report the failed fsync")
	}
}

func TestSpoolCloseFlushesPending(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, Config{Dir: dir})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			e := testEvent(fmt.Sprintf("/p%d", i))
			if err := s.Append(&e); err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("append: %v", err)
			}
		})
	}
	// Close while appends are under way: some are in the pending group.
	waitLocked(t, s, func() bool { return s.appendSeq > 0 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	appended := s.Counters().Appended
	s = openTestSpool(t, Config{Dir: dir})
	defer s.Close()
	paths, _, _ := readAll(t, s, s.Checkpoint())
	if uint64(len(paths)) != appended {
		t.Fatalf("%d appends succeeded, %d records on disk", appended, len(paths))
	}
}

// waitLocked polls cond under the spool's lock until it holds, failing
// after 10 seconds.
func waitLocked(t *testing.T, s *Spool, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the spool never reached the awaited state")
		}
	}
}

func TestSpoolDirLocked(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, Config{Dir: dir})
	defer s.Close()
	if _, err := Open(Config{Dir: dir}); err == nil {
		t.Fatal("second open of a spool in use succeeded")
	}
}

func TestSpoolAppendNoAlloc(t *testing.T) {
	s := openTestSpool(t, Config{})
	defer s.Close()
	e := testEvent("/alloc")
	e.PropKeys, e.PropValues = []string{"k"}, []string{"v"}
	for range 100 {
		s.Append(&e)
	}
	n := testing.AllocsPerRun(300, func() {
		if err := s.Append(&e); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("Append allocates %v times per call", n)
	}
}

func BenchmarkSpoolAppend(b *testing.B) {
	for _, c := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("appenders=%d", c), func(b *testing.B) {
			s := openTestSpool(b, Config{MaxBytes: 1 << 40})
			defer s.Close()
			e := testEvent("/bench/a/fairly/typical/path")
			enc := AppendEvent(nil, &e)
			b.SetBytes(int64(len(enc) + frameHeaderSize))
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range c {
				n := b.N / c
				if w < b.N%c {
					n++
				}
				wg.Go(func() {
					e := e
					for range n {
						if err := s.Append(&e); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			st := s.Counters()
			b.ReportMetric(float64(st.Appended)/float64(max(st.Fsyncs, 1)), "records/fsync")
		})
	}
}

// FuzzSpoolFrames feeds arbitrary bytes as the body of the only segment
// (or, when the first byte is odd, as the whole file): opening and reading
// must never panic or hang, and whatever is read must be CRC-valid frames.
func FuzzSpoolFrames(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(Config{Dir: dir})
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{"/a", "/b", "/c"} {
		e := testEvent(p)
		s.Append(&e)
	}
	s.Close()
	b, _ := os.ReadFile(segmentPath(dir, 1))
	f.Add(append([]byte{0}, b[segmentHeaderSize:]...))
	f.Add(append([]byte{1}, b...))
	f.Add([]byte{0, 5, 0, 0, 0, 1, 2, 3, 4, 1, 2})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		dir := t.TempDir()
		body := data[1:]
		if data[0]&1 == 0 {
			body = append(segmentHeader(0x1234), body...)
		}
		if err := os.WriteFile(segmentPath(dir, 1), body, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(Config{Dir: dir, Logger: discardLogger()})
		if err != nil {
			return
		}
		defer s.Close()
		r, err := s.NewReader(s.Checkpoint())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for range len(body) + 1 {
			p, rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				if r.Pos() != s.End() {
					t.Fatalf("EOF at %v, end %v", r.Pos(), s.End())
				}
				return
			}
			if err != nil {
				t.Fatalf("read after successful open: %v", err)
			}
			// Re-verify the frame independently of the reader.
			frame := body[p.Offset : int(p.Offset)+frameHeaderSize+len(rec)]
			check := append(make([]byte, 0, len(frame)), frame...)
			sealFrame(check)
			if string(check) != string(frame) {
				t.Fatalf("record at %v is not a CRC-valid frame", p)
			}
		}
		t.Fatal("reader did not reach the end")
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestSpoolTightensDir: a spool directory that already exists with mode
// 0755 is made 0700 when the spool opens (it holds event data).
func TestSpoolTightensDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // past the umask
		t.Fatal(err)
	}
	openTestSpool(t, Config{Dir: dir})
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o700 {
		t.Errorf("spool directory mode %o, want 700", m)
	}
}
