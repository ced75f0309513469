package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// This file holds what Open does before the spool accepts appends:
// find the segments and the checkpoint, check them, cut a torn tail, and
// count the bytes not yet consumed. See the comment on Spool for the
// decisions.

const (
	checkpointName  = "checkpoint"
	checkpointMagic = "MOTECKP1"
	checkpointSize  = 8 + 8 + 4 + 4 + 4 // magic, spool id, segment, offset, crc
	readChunk       = 256 << 10
)

// recover runs once, before the committer starts, so it touches the
// spool's fields without locking.
func (s *Spool) recover() error {
	nums, err := segmentNums(s.dir)
	if err != nil {
		return err
	}
	cp, cpID, hasCP, err := readCheckpoint(s.dir)
	if err != nil {
		return err
	}
	if hasCP {
		if nums, err = s.removeConsumed(nums, cp); err != nil {
			return err
		}
	}
	for i := 1; i < len(nums); i++ {
		if nums[i] != nums[i-1]+1 {
			return fmt.Errorf("%w: segment %d missing", ErrCorrupt, nums[i-1]+1)
		}
	}
	if s.id, err = s.recoverID(nums, cpID, hasCP); err != nil {
		return err
	}
	if len(nums) == 0 {
		return s.startSegment(cp, hasCP)
	}
	if !hasCP {
		cp = Position{Segment: nums[0], Offset: segmentHeaderSize}
	}
	s.checkpoint = cp
	cpFound := false
	for i, num := range nums {
		size, found, err := s.scanSegment(num, i == len(nums)-1, cp)
		if err != nil {
			return err
		}
		cpFound = cpFound || found
		s.segs = append(s.segs, segInfo{num: num, size: size})
	}
	if !cpFound {
		return fmt.Errorf("%w: checkpoint %v is not a record boundary", ErrCorrupt, cp)
	}
	last := s.segs[len(s.segs)-1]
	f, err := os.OpenFile(segmentPath(s.dir, last.num), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open segment %d: %w", last.num, err)
	}
	s.active = f
	return nil
}

// removeConsumed deletes the segments before the checkpoint's (consumed,
// and the process died before deleting them) and returns the rest. The
// checkpoint's own segment must be there, unless every segment is gone.
func (s *Spool) removeConsumed(nums []uint32, cp Position) ([]uint32, error) {
	if len(nums) > 0 && !containsNum(nums, cp.Segment) {
		return nil, fmt.Errorf("%w: checkpoint names segment %d, which is missing", ErrCorrupt, cp.Segment)
	}
	for len(nums) > 0 && nums[0] < cp.Segment {
		if err := os.Remove(segmentPath(s.dir, nums[0])); err != nil {
			return nil, fmt.Errorf("remove consumed segment %d: %w", nums[0], err)
		}
		nums = nums[1:]
	}
	return nums, nil
}

// recoverID returns the spool's id: the checkpoint's, which every segment
// header must repeat, else the segments', else a new one. Only the last
// segment may have a torn header (it died while being created; scanSegment
// rewrites it).
func (s *Spool) recoverID(nums []uint32, cpID uint64, hasCP bool) (uint64, error) {
	id, haveID := cpID, hasCP
	for i, num := range nums {
		hdrID, short, err := readSegmentID(s.dir, num)
		if err != nil {
			return 0, err
		}
		if short {
			if i == len(nums)-1 {
				continue // torn while being created; rewritten by scanSegment
			}
			return 0, fmt.Errorf("%w: segment %d has no valid header", ErrCorrupt, num)
		}
		if haveID && hdrID != id {
			return 0, fmt.Errorf("%w: segment %d belongs to another spool", ErrCorrupt, num)
		}
		id, haveID = hdrID, true
	}
	if haveID {
		return id, nil
	}
	id, err := newSpoolID()
	if err != nil {
		return 0, fmt.Errorf("new spool id: %w", err)
	}
	return id, nil
}

// startSegment starts a spool whose directory holds no segment: a new one,
// or one whose segment files all went missing (numbered after the
// checkpoint's, which is then rewritten to point at it).
func (s *Spool) startSegment(cp Position, hasCP bool) error {
	num := uint32(1)
	if hasCP {
		num = cp.Segment + 1
		s.log.Warn("spool: every segment file is missing; starting a new one", "segment", num)
	}
	f, err := createSegment(s.dir, num, s.id)
	if err != nil {
		return err
	}
	s.active = f
	s.segs = []segInfo{{num: num, size: segmentHeaderSize}}
	s.checkpoint = Position{Segment: num, Offset: segmentHeaderSize}
	if hasCP {
		return writeCheckpoint(s.dir, s.id, s.checkpoint)
	}
	return nil
}

// scanSegment checks every frame of segment num, adds the bytes at or after
// cp to s.unconsumed, and returns the segment's valid size and whether cp
// is one of its record boundaries. In the last segment, an invalid frame
// and everything after it is a torn tail and is truncated away.
func (s *Spool) scanSegment(num uint32, last bool, cp Position) (int64, bool, error) {
	path := segmentPath(s.dir, num)
	f, err := os.Open(path)
	if err != nil {
		return 0, false, fmt.Errorf("open segment %d: %w", num, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, false, fmt.Errorf("stat segment %d: %w", num, err)
	}
	size := st.Size()
	if last && size < segmentHeaderSize {
		if err := rewriteHeader(path, s.id); err != nil {
			return 0, false, fmt.Errorf("rewrite header of segment %d: %w", num, err)
		}
		return segmentHeaderSize, cp == Position{Segment: num, Offset: segmentHeaderSize}, nil
	}
	if size > maxSegmentBytes+frameHeaderSize+MaxRecordBytes {
		// Offsets are uint32; a segment this large was not written by us.
		return 0, false, fmt.Errorf("%w: segment %d is too large", ErrCorrupt, num)
	}
	found := false
	ff := frameFile{f: f}
	off := int64(segmentHeaderSize)
	for {
		if num == cp.Segment && off == int64(cp.Offset) {
			found = true
		}
		if off >= size {
			break
		}
		_, next, bad, err := ff.frame(off, size)
		if err != nil {
			return 0, false, fmt.Errorf("read segment %d: %w", num, err)
		}
		if bad != "" {
			if !last {
				return 0, false, fmt.Errorf("%w: segment %d at offset %d: %s", ErrCorrupt, num, off, bad)
			}
			if err := truncateFile(path, off); err != nil {
				return 0, false, fmt.Errorf("truncate segment %d: %w", num, err)
			}
			s.log.Warn("spool: removed torn tail", "segment", num, "offset", off, "bytes", size-off)
			s.truncated.Add(size - off)
			size = off
			break
		}
		if num > cp.Segment || num == cp.Segment && off >= int64(cp.Offset) {
			s.unconsumed += next - off
		}
		off = next
	}
	return size, found, nil
}

func truncateFile(path string, size int64) error {
	return writeSynced(path, os.O_WRONLY, 0, func(f *os.File) error { return f.Truncate(size) })
}

func rewriteHeader(path string, id uint64) error {
	return writeSynced(path, os.O_WRONLY|os.O_TRUNC, 0, func(f *os.File) error {
		_, err := f.Write(segmentHeader(id))
		return err
	})
}

// writeSynced opens path with flag and perm, lets change write to it, and
// fsyncs it before closing: when it returns nil the change is on disk, as
// recovery and the checkpoint need before they go on. The first error is
// returned.
func writeSynced(path string, flag int, perm os.FileMode, change func(*os.File) error) error {
	f, err := os.OpenFile(path, flag, perm)
	if err != nil {
		return err
	}
	err = change(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readSegmentID returns the spool id in segment num's header; short is
// true when the file is shorter than a header. A wrong magic is an error.
func readSegmentID(dir string, num uint32) (id uint64, short bool, err error) {
	f, err := os.Open(segmentPath(dir, num))
	if err != nil {
		return 0, false, fmt.Errorf("open segment %d: %w", num, err)
	}
	defer f.Close()
	var h [segmentHeaderSize]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, true, nil
		}
		return 0, false, fmt.Errorf("read segment %d: %w", num, err)
	}
	if !bytes.Equal(h[:8], []byte(segmentMagic)) {
		return 0, false, fmt.Errorf("%w: segment %d is not a spool segment", ErrCorrupt, num)
	}
	return binary.LittleEndian.Uint64(h[8:]), false, nil
}

func containsNum(nums []uint32, n uint32) bool {
	for _, x := range nums {
		if x == n {
			return true
		}
	}
	return false
}

// readCheckpoint reads the checkpoint file; ok is false when there is none.
func readCheckpoint(dir string) (pos Position, id uint64, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, checkpointName))
	if errors.Is(err, fs.ErrNotExist) {
		return Position{}, 0, false, nil
	}
	if err != nil {
		return Position{}, 0, false, fmt.Errorf("read checkpoint: %w", err)
	}
	if len(b) != checkpointSize || !bytes.Equal(b[:8], []byte(checkpointMagic)) ||
		crc32.Checksum(b[:checkpointSize-4], crcTable) != binary.LittleEndian.Uint32(b[checkpointSize-4:]) {
		return Position{}, 0, false, fmt.Errorf("%w: checkpoint file is damaged", ErrCorrupt)
	}
	id = binary.LittleEndian.Uint64(b[8:])
	pos = Position{Segment: binary.LittleEndian.Uint32(b[16:]), Offset: binary.LittleEndian.Uint32(b[20:])}
	return pos, id, true, nil
}

// writeCheckpoint replaces the checkpoint atomically: a crash leaves
// either the old or the new one, never a mix (temp file, fsync, rename,
// directory fsync).
func writeCheckpoint(dir string, id uint64, pos Position) error {
	b := make([]byte, 0, checkpointSize)
	b = append(b, checkpointMagic...)
	b = binary.LittleEndian.AppendUint64(b, id)
	b = binary.LittleEndian.AppendUint32(b, pos.Segment)
	b = binary.LittleEndian.AppendUint32(b, pos.Offset)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	tmp := filepath.Join(dir, checkpointName+".tmp")
	err := writeSynced(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, checkpointName)); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// frameFile reads frames from one segment file with positioned reads
// through a buffer, never past the limit it is given (the durable end), so
// it can read a segment the committer is still appending to.
type frameFile struct {
	f   *os.File
	buf []byte
	off int64 // file offset of buf[0]
}

// at returns the n bytes at off; off+n must not exceed limit.
func (ff *frameFile) at(off int64, n int, limit int64) ([]byte, error) {
	if off >= ff.off && off+int64(n) <= ff.off+int64(len(ff.buf)) {
		return ff.buf[off-ff.off : off-ff.off+int64(n)], nil
	}
	want := int(min(int64(max(n, readChunk)), limit-off))
	if cap(ff.buf) < want {
		ff.buf = make([]byte, want)
	}
	ff.buf = ff.buf[:want]
	m, err := ff.f.ReadAt(ff.buf, off)
	if m < n {
		ff.buf = ff.buf[:0]
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	ff.buf, ff.off = ff.buf[:m], off
	return ff.buf[:n], nil
}

// frame reads the frame at off, which must end by limit. bad says why the
// bytes there are not a valid frame; err is an I/O error.
func (ff *frameFile) frame(off, limit int64) (payload []byte, next int64, bad string, err error) {
	if limit-off < frameHeaderSize {
		return nil, 0, "partial frame header", nil
	}
	h, err := ff.at(off, frameHeaderSize, limit)
	if err != nil {
		return nil, 0, "", err
	}
	n := binary.LittleEndian.Uint32(h[0:4])
	sum := binary.LittleEndian.Uint32(h[4:8])
	switch {
	case n == 0:
		return nil, 0, "empty frame", nil
	case n > MaxRecordBytes:
		return nil, 0, "frame length out of range", nil
	case int64(n) > limit-off-frameHeaderSize:
		return nil, 0, "partial frame", nil
	}
	b, err := ff.at(off, frameHeaderSize+int(n), limit)
	if err != nil {
		return nil, 0, "", err
	}
	if crc32.Update(crc32.Checksum(b[0:4], crcTable), crcTable, b[frameHeaderSize:]) != sum {
		return nil, 0, "checksum mismatch", nil
	}
	return b[frameHeaderSize:], off + frameHeaderSize + int64(n), "", nil
}
