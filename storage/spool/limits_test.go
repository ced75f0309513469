package spool

import (
	"bytes"
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

// These tests pin the spool at its limits and on its failure paths; each
// kills mutants (TESTING.md, "Mutation testing") that the tests of the
// ordinary paths let live.

// logBuf collects a logger's text output.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// frameLen is the size of the frame of testEvent(path).
func frameLen(path string) int64 {
	e := testEvent(path)
	return int64(frameHeaderSize + len(AppendEvent(nil, &e)))
}

// TestSpoolLargestRecord: a record of exactly MaxRecordBytes is accepted,
// read back (a frame larger than the reader's chunk, ending the segment)
// and recovered; one byte more is refused.
func TestSpoolLargestRecord(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, Config{Dir: dir})
	e := testEvent("")
	base := len(AppendEvent(nil, &e))
	// The path's length takes 3 bytes as a uvarint instead of 1.
	e.Pathname = strings.Repeat("p", MaxRecordBytes-base-2)
	if n := len(AppendEvent(nil, &e)); n != MaxRecordBytes {
		t.Fatalf("record of %d bytes, want %d", n, MaxRecordBytes)
	}
	if err := s.Append(&e); err != nil {
		t.Fatalf("record of MaxRecordBytes refused: %v", err)
	}
	check := func(s *Spool) {
		t.Helper()
		r, err := s.NewReader(s.Checkpoint())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, rec, err := r.Next()
		if err != nil {
			t.Fatalf("read the largest record: %v", err)
		}
		var out mote.Event
		if err := DecodeEvent(rec, &out); err != nil || out.Pathname != e.Pathname {
			t.Fatalf("decode the largest record: %v (path of %d bytes)", err, len(out.Pathname))
		}
	}
	check(s)
	big := e
	big.Pathname += "p"
	if err := s.Append(&big); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("record of MaxRecordBytes+1: err = %v", err)
	}
	s.Close()
	s = openTestSpool(t, Config{Dir: dir})
	defer s.Close()
	check(s)
}

// TestSpoolMaxSessionRows: a hit may carry MaxSessionRows session rows.
func TestSpoolMaxSessionRows(t *testing.T) {
	s := openTestSpool(t, Config{})
	defer s.Close()
	e := testEvent("/s")
	rows := make([]*mote.SessionRow, MaxSessionRows+1)
	for i := range rows {
		r := fullSession(1, uint32(i))
		rows[i] = &r
	}
	if err := s.Append(&e, rows[:MaxSessionRows]...); err != nil {
		t.Fatalf("%d session rows refused: %v", MaxSessionRows, err)
	}
	if err := s.Append(&e, rows...); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("%d session rows: err = %v", len(rows), err)
	}
}

// TestSpoolSegmentExactFit: a frame that fills a segment up to
// SegmentBytes exactly still goes into it.
func TestSpoolSegmentExactFit(t *testing.T) {
	f := frameLen("/x0")
	s := openTestSpool(t, Config{SegmentBytes: segmentHeaderSize + 2*f})
	defer s.Close()
	for _, p := range seq("/x", 0, 3) {
		mustAppend(t, s, p)
	}
	_, poss, _ := readAll(t, s, s.Checkpoint())
	if len(poss) != 3 || poss[0].Segment != poss[1].Segment || poss[2].Segment != poss[1].Segment+1 {
		t.Fatalf("positions %v: want two records in the first segment, the third in the next", poss)
	}
}

// TestSpoolFrameLargerThanSegment: with segments smaller than any frame,
// each record goes alone into its own segment (and no segment is created
// without a record in it).
func TestSpoolFrameLargerThanSegment(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, Config{Dir: dir, SegmentBytes: 1})
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		for _, p := range seq("/big", 0, 3) {
			e := testEvent(p)
			if err := s.Append(&e); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var err error
	runaway := false
	waitLocked(t, s, func() bool {
		select {
		case err = <-done:
			return true
		default:
		}
		runaway = len(s.segs) > 100
		return runaway
	})
	if runaway {
		// Stop the committer: segment creation fails once the directory is gone.
		for {
			os.RemoveAll(dir)
			if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
				break
			}
		}
		<-done
		t.Fatal("the committer creates segments without writing the record")
	}
	if err != nil {
		t.Fatal(err)
	}
	paths, poss, _ := readAll(t, s, s.Checkpoint())
	if !equalStrings(paths, seq("/big", 0, 3)) || s.Counters().Segments != 3 {
		t.Fatalf("read %v at %v, %d segments", paths, poss, s.Counters().Segments)
	}
	for i, p := range poss {
		if p != (Position{Segment: poss[0].Segment + uint32(i), Offset: segmentHeaderSize}) {
			t.Fatalf("record %d at %v: want each record alone in its segment", i, p)
		}
	}
}

// TestSpoolWriteErrorReachesAppender: an appender whose record the failed
// fsync did not make durable gets that error, not just ErrClosed.
func TestSpoolWriteErrorReachesAppender(t *testing.T) {
	s := openTestSpool(t, Config{Logger: discardLogger()})
	diskErr := errors.New("disk on fire")
	s.syncFile = func(*os.File) error { return diskErr }
	e := testEvent("/f")
	if err := s.Append(&e); !errors.Is(err, diskErr) {
		t.Fatalf("append: err = %v, want the fsync error", err)
	}
	if err := s.Append(&e); !errors.Is(err, diskErr) {
		t.Fatalf("append after the failure: err = %v, want the fsync error", err)
	}
	if err := s.Close(); !errors.Is(err, diskErr) {
		t.Fatalf("close: err = %v, want the fsync error", err)
	}
}

// TestSpoolFullDiskMidGroup: a group that rolls over to a new segment and
// hits a full disk there keeps the records fsynced before the rollover
// (their appenders succeed) and refuses the rest, including an append that
// arrived during the failed write; the bytes still to consume count only
// the durable records.
func TestSpoolFullDiskMidGroup(t *testing.T) {
	f := frameLen("/g0")
	s := openTestSpool(t, Config{SegmentBytes: segmentHeaderSize + 2*f + f/2, Logger: discardLogger()})
	defer s.Close()
	disk := &fullDisk{}
	entered, release := make(chan struct{}), make(chan struct{})
	late := make(chan error, 1)
	calls := 0 // the committer's writes
	s.writeFile = func(file *os.File, b []byte) (int, error) {
		calls++
		switch calls {
		case 1: // the group of /g0 waits until /g1../g3 are pending
			close(entered)
			<-release
		case 3: // the second part of the next group, in a new segment
			go func() { e := testEvent("/g4"); late <- s.Append(&e) }()
			for {
				s.mu.Lock()
				queued := s.appendSeq == 5
				s.mu.Unlock()
				if queued {
					break
				}
				time.Sleep(time.Millisecond)
			}
			disk.set(true)
		}
		return disk.write(file, b)
	}
	first := make(chan error, 1)
	go func() { e := testEvent("/g0"); first <- s.Append(&e) }()
	<-entered
	errs := make(chan error, 3)
	for _, p := range seq("/g", 1, 4) {
		go func() { e := testEvent(p); errs <- s.Append(&e) }()
	}
	waitLocked(t, s, func() bool { return s.appendSeq == 4 })
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("/g0: %v", err)
	}
	ok, refused := 0, 0
	for range 3 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrNoSpace):
			refused++
		default:
			t.Fatalf("append: %v", err)
		}
	}
	if err := <-late; !errors.Is(err, ErrNoSpace) {
		t.Fatalf("append during the failed write: err = %v, want ErrNoSpace", err)
	}
	if ok != 1 || refused != 2 {
		t.Fatalf("%d appends succeeded and %d were refused, want 1 and 2 (calls %d)", ok, refused, calls)
	}
	paths, _, _ := readAll(t, s, s.Checkpoint())
	if len(paths) != 2 || paths[0] != "/g0" {
		t.Fatalf("read %v, want /g0 and the one accepted record", paths)
	}
	if st := s.Counters(); st.PendingBytes != 2*f || st.Appended != 2 || st.NoSpace != 3 {
		t.Fatalf("counters %+v, want %d pending bytes, 2 appended, 3 refused", st, 2*f)
	}
}

// TestReaderIgnoresRefusedBytes: bytes of a write that failed for want of
// space are in the file until cut away; a reader that read meanwhile must
// not keep them and serve them later in place of the record written there
// once space is back.
func TestReaderIgnoresRefusedBytes(t *testing.T) {
	s := openTestSpool(t, Config{Logger: discardLogger()})
	defer s.Close()
	mustAppend(t, s, "/a0")
	r, err := s.NewReader(s.Checkpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	disk := &fullDisk{}
	var first mote.Event
	var firstErr error
	s.writeFile = func(f *os.File, b []byte) (int, error) {
		n, err := disk.write(f, b)
		if err != nil {
			// Half of the refused frame is in the file now.
			_, rec, rerr := r.Next()
			if firstErr = rerr; rerr == nil {
				firstErr = DecodeEvent(rec, &first)
			}
		}
		return n, err
	}
	disk.set(true)
	e := testEvent("/b0")
	if err := s.Append(&e); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("append on a full disk: %v", err)
	}
	if firstErr != nil || first.Pathname != "/a0" {
		t.Fatalf("read during the failed write: %q, %v", first.Pathname, firstErr)
	}
	disk.set(false)
	// Space is back and probeInterval has passed: the next append probes.
	s.mu.Lock()
	s.noSpaceSince = time.Now().Add(-probeInterval)
	s.mu.Unlock()
	mustAppend(t, s, "/c0") // as long as /b0, at the same offset
	_, rec, err := r.Next()
	if err != nil {
		t.Fatalf("read after space returned: %v", err)
	}
	var out mote.Event
	if err := DecodeEvent(rec, &out); err != nil || out.Pathname != "/c0" {
		t.Fatalf("read %q (%v), want /c0", out.Pathname, err)
	}
}

// TestSpoolProbeWaitsForAppender: while an appender waits for its group,
// no probe may go ahead (it could replace the failed range that appender
// still has to read); once it returned, a probe may.
func TestSpoolProbeWaitsForAppender(t *testing.T) {
	s := openTestSpool(t, Config{})
	defer s.Close()
	probed := false
	s.syncFile = func(f *os.File) error {
		s.mu.Lock()
		s.noSpaceSince = time.Now().Add(-time.Hour)
		probed = s.probeLocked()
		s.mu.Unlock()
		return f.Sync()
	}
	mustAppend(t, s, "/w")
	if probed {
		t.Fatal("a probe went ahead while an appender waited")
	}
	s.mu.Lock()
	probed = s.probeLocked()
	s.mu.Unlock()
	if !probed {
		t.Fatal("no probe once every appender returned")
	}
}

// TestReaderTailsGrowingSegment: a reader that reached the durable end
// reads the records appended after it.
func TestReaderTailsGrowingSegment(t *testing.T) {
	s := openTestSpool(t, Config{})
	defer s.Close()
	mustAppend(t, s, "/t0")
	r, err := s.NewReader(s.Checkpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var e mote.Event
	for i := range 3 {
		_, rec, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if err := DecodeEvent(rec, &e); err != nil || e.Pathname != fmt.Sprintf("/t%d", i) {
			t.Fatalf("record %d: %q, %v", i, e.Pathname, err)
		}
		if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("after record %d: %v, want EOF", i, err)
		}
		mustAppend(t, s, fmt.Sprintf("/t%d", i+1))
	}
}

// TestSpoolRefusesPositionPastEnd: a position in a segment after the last
// one is not in the spool.
func TestSpoolRefusesPositionPastEnd(t *testing.T) {
	s := openTestSpool(t, Config{})
	defer s.Close()
	mustAppend(t, s, "/p")
	pos := Position{Segment: s.End().Segment + 1, Offset: segmentHeaderSize}
	if _, err := s.NewReader(pos); err == nil {
		t.Fatalf("reader at %v", pos)
	}
	if err := s.Commit(pos); err == nil {
		t.Fatalf("commit at %v", pos)
	}
}

// openFDs counts the process's open file descriptors (Linux).
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("cannot count open files (the spool is built for Linux): %v", err)
	}
	return len(ents)
}

// TestSpoolClosesItsFiles: rollovers, commits (which sync the directory),
// a reader crossing segments, a reader closed twice or never used, and an
// open that fails after creating its segment leave no file open; deleting
// consumed segments logs nothing.
func TestSpoolClosesItsFiles(t *testing.T) {
	openFDs(t)
	before := openFDs(t)
	dir := t.TempDir()
	f := frameLen("/l0")
	var log logBuf
	s := openTestSpool(t, Config{Dir: dir, SegmentBytes: segmentHeaderSize + f + f/2, Logger: log.logger()})
	for _, p := range seq("/l", 0, 10) {
		mustAppend(t, s, p)
	}
	if n := s.Counters().Segments; n != 10 {
		t.Fatalf("%d segments, want one per record", n)
	}
	_, poss, _ := readAll(t, s, s.Checkpoint())
	for _, p := range poss[1:] {
		if err := s.Commit(p); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(segFiles(t, dir)); got != 1 {
		t.Fatalf("%d segment files after the commits, want 1", got)
	}
	r, err := s.NewReader(s.Checkpoint())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("close of an unused reader: %v", err)
	}
	r, _ = s.NewReader(s.Checkpoint())
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second close of a reader: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "cannot delete") {
		t.Fatalf("warnings logged:\n%s", log.String())
	}
	// Every segment gone, and the checkpoint cannot be rewritten: the
	// open fails after creating a new segment.
	for _, p := range segFiles(t, dir) {
		os.Remove(p)
	}
	if err := os.Mkdir(filepath.Join(dir, checkpointName+".tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Dir: dir, Logger: discardLogger()}); err == nil {
		t.Fatal("open succeeded though the checkpoint cannot be written")
	}
	if after := openFDs(t); after > before {
		t.Fatalf("%d files open before, %d after", before, after)
	}
}

// TestCommitCountsConsumedBytes: a commit inside one segment and one
// across segments each take exactly the consumed frames off the bytes
// still to consume.
func TestCommitCountsConsumedBytes(t *testing.T) {
	f := frameLen("/k0")
	s := openTestSpool(t, Config{SegmentBytes: segmentHeaderSize + 3*f})
	defer s.Close()
	for _, p := range seq("/k", 0, 6) {
		mustAppend(t, s, p)
	}
	_, poss, end := readAll(t, s, s.Checkpoint())
	if poss[2].Segment != poss[0].Segment || poss[3].Segment == poss[0].Segment {
		t.Fatalf("positions %v: want three records per segment", poss)
	}
	for i, p := range []Position{poss[1], poss[2], poss[4], end} {
		if err := s.Commit(p); err != nil {
			t.Fatal(err)
		}
		if got, want := s.Counters().PendingBytes, []int64{5, 4, 2, 0}[i]*f; got != want {
			t.Fatalf("after commit at %v: %d bytes pending, want %d", p, got, want)
		}
	}
}
