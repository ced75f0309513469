package spool

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Segment files: "<number as 8 hex digits>.seg", a 16-byte header (magic
// and the spool's random id), then frames (see spool.go). These helpers
// name, create and list them; recover.go reads them back at open.

// segmentPath is the file of segment num in dir.
func segmentPath(dir string, num uint32) string {
	return filepath.Join(dir, fmt.Sprintf("%08x.seg", num))
}

// segmentHeader is the header of a segment of the spool with this id.
func segmentHeader(id uint64) []byte {
	h := make([]byte, segmentHeaderSize)
	copy(h, segmentMagic)
	binary.LittleEndian.PutUint64(h[8:], id)
	return h
}

// createSegment creates segment num with its header, durably (file and
// directory fsynced), and returns it open for appending. A segment that
// could not be completed is removed, so that a full disk leaves no
// header-less file behind.
func createSegment(dir string, num uint32, id uint64) (*os.File, error) {
	path := segmentPath(dir, num)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create segment %d: %w", num, err)
	}
	fail := func(err error) (*os.File, error) {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("create segment %d: %w", num, err)
	}
	if _, err := f.Write(segmentHeader(id)); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		return fail(err)
	}
	return f, nil
}

// syncDir fsyncs dir, making a created or removed file in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// newSpoolID is a random id for a new spool directory.
func newSpoolID() (uint64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// segmentNums lists the segment numbers present in dir, ascending.
func segmentNums(dir string) ([]uint32, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var nums []uint32
	for _, e := range ents {
		var num uint32
		name := e.Name()
		if len(name) != 12 || filepath.Ext(name) != ".seg" {
			continue
		}
		if _, err := fmt.Sscanf(name, "%08x.seg", &num); err != nil {
			continue
		}
		nums = append(nums, num)
	}
	slices.Sort(nums)
	return nums, nil
}
