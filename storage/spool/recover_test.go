package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecoverRemovesConsumedSegments: segments wholly before the
// checkpoint that a crash left behind (the process died between writing
// the checkpoint and deleting them) are deleted at open and never read
// again; the bytes still to consume count only what follows the checkpoint.
func TestRecoverRemovesConsumedSegments(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SegmentBytes: 1024}
	s := openTestSpool(t, cfg)
	for _, p := range seq("/r", 0, 100) {
		mustAppend(t, s, p)
	}
	_, poss, _ := readAll(t, s, s.Checkpoint())
	// Keep copies of the segments the commit will delete.
	saved := map[string][]byte{}
	for _, f := range segFiles(t, dir) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		saved[f] = b
	}
	if err := s.Commit(poss[60]); err != nil {
		t.Fatal(err)
	}
	pending := s.Counters().PendingBytes
	s.Close()
	var restored []string
	for f, b := range saved {
		if _, err := os.Stat(f); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
			restored = append(restored, f)
		}
	}
	if len(restored) == 0 {
		t.Fatal("the commit deleted no segment: nothing to leave behind")
	}

	s = openTestSpool(t, cfg)
	defer s.Close()
	for _, f := range restored {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("consumed segment %s still there after open (%v)", filepath.Base(f), err)
		}
	}
	if got := s.Counters().Segments; got != int64(len(saved)-len(restored)) {
		t.Errorf("%d segments after open, want %d", got, len(saved)-len(restored))
	}
	if got := s.Counters().PendingBytes; got != pending {
		t.Errorf("%d bytes to consume after open, %d before the crash", got, pending)
	}
	paths, _, _ := readAll(t, s, s.Checkpoint())
	if !equalStrings(paths, seq("/r", 60, 100)) {
		t.Fatalf("after open read %v", paths)
	}
}

// TestRecoverRefusesForeignSegment: a segment of another spool (a file
// copied between directories, two spools sharing one) is corruption, not
// data of this spool.
func TestRecoverRefusesForeignSegment(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	for _, d := range []string{dir, other} {
		s := openTestSpool(t, Config{Dir: d})
		for _, p := range seq("/f", 0, 5) {
			mustAppend(t, s, p)
		}
		s.Close()
	}
	// The other spool's segment 1 becomes this one's segment 2.
	b, err := os.ReadFile(segmentPath(other, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(segmentPath(dir, 2), b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Dir: dir})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "segment 2 belongs to another spool") {
		t.Fatalf("open with another spool's segment: %v", err)
	}
}

// TestRecoverRefusesCheckpointOffBoundary: a checkpoint that points inside
// a record (a damaged or hand-edited file) must not make the reader start
// mid-record.
func TestRecoverRefusesCheckpointOffBoundary(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, Config{Dir: dir})
	for _, p := range seq("/b", 0, 5) {
		mustAppend(t, s, p)
	}
	_, poss, _ := readAll(t, s, s.Checkpoint())
	id := s.id
	s.Close()
	for _, off := range []uint32{poss[1].Offset + 1, poss[2].Offset - 1, segmentHeaderSize - 1} {
		pos := Position{Segment: poss[1].Segment, Offset: off}
		if err := writeCheckpoint(dir, id, pos); err != nil {
			t.Fatal(err)
		}
		_, err := Open(Config{Dir: dir})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "is not a record boundary") {
			t.Fatalf("open with the checkpoint at %v: %v", pos, err)
		}
	}
	// At a boundary it opens and reads from there.
	if err := writeCheckpoint(dir, id, poss[2]); err != nil {
		t.Fatal(err)
	}
	s = openTestSpool(t, Config{Dir: dir})
	defer s.Close()
	if paths, _, _ := readAll(t, s, s.Checkpoint()); !equalStrings(paths, seq("/b", 2, 5)) {
		t.Fatalf("read %v from a checkpoint at record 2", paths)
	}
}

// TestRecoverEverySegmentMissing: when every segment file is gone, the
// spool starts a new segment after the checkpoint's, says so, and moves
// the checkpoint there durably.
func TestRecoverEverySegmentMissing(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, Config{Dir: dir})
	for _, p := range seq("/m", 0, 3) {
		mustAppend(t, s, p)
	}
	_, _, end := readAll(t, s, s.Checkpoint())
	if err := s.Commit(end); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, f := range segFiles(t, dir) {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	var log logBuf
	s = openTestSpool(t, Config{Dir: dir, Logger: log.logger()})
	want := Position{Segment: end.Segment + 1, Offset: segmentHeaderSize}
	if s.Checkpoint() != want || s.End() != want {
		t.Fatalf("checkpoint %v, end %v, want both %v", s.Checkpoint(), s.End(), want)
	}
	if !strings.Contains(log.String(), "every segment file is missing") {
		t.Fatalf("no warning logged:\n%s", log.String())
	}
	mustAppend(t, s, "/n0")
	s.Close()
	s = openTestSpool(t, Config{Dir: dir})
	defer s.Close()
	if s.Checkpoint() != want {
		t.Fatalf("checkpoint %v after reopen, want %v", s.Checkpoint(), want)
	}
	if paths, _, _ := readAll(t, s, s.Checkpoint()); !equalStrings(paths, []string{"/n0"}) {
		t.Fatalf("read %v", paths)
	}
}

// TestRecoverLargestSegment: the last segment may be as large as the spool
// can make one (SegmentBytes at its cap, plus one frame of the largest
// record); one byte more was not written by a spool. The file is sparse:
// its zeros are a torn tail.
func TestRecoverLargestSegment(t *testing.T) {
	dir := t.TempDir()
	openTestSpool(t, Config{Dir: dir}).Close()
	path := segmentPath(dir, 1)
	limit := int64(maxSegmentBytes + frameHeaderSize + MaxRecordBytes)
	if err := os.Truncate(path, limit+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Dir: dir, Logger: discardLogger()}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("open with a segment of %d bytes: %v", limit+1, err)
	}
	if err := os.Truncate(path, limit); err != nil {
		t.Fatal(err)
	}
	s := openTestSpool(t, Config{Dir: dir, Logger: discardLogger()})
	defer s.Close()
	if got := s.Counters().TruncatedBytes; got != limit-segmentHeaderSize {
		t.Fatalf("truncated %d bytes, want %d", got, limit-segmentHeaderSize)
	}
}

// TestRecoverOlderSegmentEndsInFrameHeader: a sealed segment that ends
// with a whole frame header but no payload is reported as a partial frame
// at that offset.
func TestRecoverOlderSegmentEndsInFrameHeader(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, Config{Dir: dir, SegmentBytes: 512})
	for _, p := range seq("/h", 0, 20) {
		mustAppend(t, s, p)
	}
	s.Close()
	files := segFiles(t, dir)
	if len(files) < 2 {
		t.Fatalf("want several segments, got %d", len(files))
	}
	st, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(files[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{100, 0, 0, 0, 1, 2, 3, 4})
	f.Close()
	_, err = Open(Config{Dir: dir})
	if want := fmt.Sprintf("segment 1 at offset %d: partial frame", st.Size()); !errors.Is(err, ErrCorrupt) || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("err = %v, want …%s", err, want)
	}
}
