package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// This file is the consumer side of the Spool, used by the Batcher: read
// durable records from a position, wait for more, and move the checkpoint
// once ClickHouse has accepted what was read, deleting whole segments
// behind it.

// End returns the durable end: the position after the last record that
// has been fsynced. Readers never see records at or after it.
func (s *Spool) End() Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endLocked()
}

func (s *Spool) endLocked() Position {
	last := s.segs[len(s.segs)-1]
	return Position{Segment: last.num, Offset: uint32(last.size)}
}

// Checkpoint returns the position of the first record not yet consumed:
// where a consumer starts after open.
func (s *Spool) Checkpoint() Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpoint
}

// wakeWaitersLocked wakes the goroutines blocked in Wait.
func (s *Spool) wakeWaitersLocked() {
	if s.waitCh != nil {
		close(s.waitCh)
		s.waitCh = nil
	}
}

// Wait blocks until a record after position after is durable (returns
// nil), ctx is done (returns ctx.Err()), or the spool can no longer grow
// because it is closed or stopped (returns ErrClosed). It allocates
// only while someone waits, so the append path stays allocation-free.
func (s *Spool) Wait(ctx context.Context, after Position) error {
	s.mu.Lock()
	for {
		if after.Less(s.endLocked()) {
			s.mu.Unlock()
			return nil
		}
		if s.stopped {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.waitCh == nil {
			s.waitCh = make(chan struct{})
		}
		ch := s.waitCh
		s.mu.Unlock()
		if s.beforeWait != nil {
			s.beforeWait()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
}

// segIndexLocked returns the index of segment num in s.segs, or -1.
func (s *Spool) segIndexLocked(num uint32) int {
	if len(s.segs) == 0 || num < s.segs[0].num {
		return -1
	}
	i := int(num - s.segs[0].num)
	if i >= len(s.segs) || s.segs[i].num != num {
		return -1
	}
	return i
}

// validLocked reports whether pos lies within the spool's durable data.
func (s *Spool) validLocked(pos Position) bool {
	i := s.segIndexLocked(pos.Segment)
	return i >= 0 && pos.Offset >= segmentHeaderSize && int64(pos.Offset) <= s.segs[i].size
}

// bytesBetweenLocked counts the frame bytes from a to b (a ≤ b, both valid).
func (s *Spool) bytesBetweenLocked(a, b Position) int64 {
	if a.Segment == b.Segment {
		return int64(b.Offset) - int64(a.Offset)
	}
	i, j := s.segIndexLocked(a.Segment), s.segIndexLocked(b.Segment)
	n := s.segs[i].size - int64(a.Offset)
	for k := i + 1; k < j; k++ {
		n += s.segs[k].size - segmentHeaderSize
	}
	return n + int64(b.Offset) - segmentHeaderSize
}

// Commit records that every record before pos has been stored, so a
// restart resumes at pos, and deletes the segments wholly before it. pos
// must be a record boundary returned by a Reader (Reader.Pos or a record
// position). The checkpoint never moves backwards.
func (s *Spool) Commit(pos Position) error {
	s.cpMu.Lock()
	defer s.cpMu.Unlock()
	s.mu.Lock()
	switch {
	case s.stopped && s.closing:
		s.mu.Unlock()
		return ErrClosed
	case pos.Less(s.checkpoint):
		cp := s.checkpoint
		s.mu.Unlock()
		return fmt.Errorf("commit spool position %v: before checkpoint %v", pos, cp)
	case !s.validLocked(pos):
		s.mu.Unlock()
		return fmt.Errorf("commit spool position %v: not in the durable spool", pos)
	case pos == s.checkpoint:
		s.mu.Unlock()
		return nil
	}
	consumed := s.bytesBetweenLocked(s.checkpoint, pos)
	s.mu.Unlock()

	if err := writeCheckpoint(s.dir, s.id, pos); err != nil {
		return fmt.Errorf("commit spool position %v: %w", pos, err)
	}

	s.mu.Lock()
	s.checkpoint = pos
	s.unconsumed -= consumed
	s.pendingBytes.Store(s.unconsumed)
	s.full.Store(false)
	var drop []uint32
	for len(s.segs) > 1 && s.segs[0].num < pos.Segment {
		drop = append(drop, s.segs[0].num)
		s.segs = s.segs[1:]
	}
	s.segments.Store(int64(len(s.segs)))
	s.mu.Unlock()
	for _, num := range drop {
		// A failed delete is retried at the next open, which removes
		// segments behind the checkpoint.
		if err := os.Remove(segmentPath(s.dir, num)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("spool: cannot delete consumed segment", "segment", num, "err", err)
		}
	}
	return nil
}

// Reader reads durable records in order. It is not safe for concurrent
// use.
type Reader struct {
	s    *Spool
	pos  Position
	ff   frameFile
	fnum uint32
}

// NewReader returns a Reader positioned at from, which must be a record
// boundary inside the spool (usually Checkpoint()).
func (s *Spool) NewReader(from Position) (*Reader, error) {
	s.mu.Lock()
	ok := s.validLocked(from)
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("read spool at %v: position not in the spool", from)
	}
	return &Reader{s: s, pos: from}, nil
}

// Pos returns the position of the next record Next will return.
func (r *Reader) Pos() Position { return r.pos }

// Next returns the next durable record and its position. The record is
// valid until the next call. At the durable end it returns io.EOF (call
// Spool.Wait, then Next again); a record that fails its checks is an error
// wrapping ErrCorrupt.
func (r *Reader) Next() (Position, []byte, error) {
	for {
		r.s.mu.Lock()
		i := r.s.segIndexLocked(r.pos.Segment)
		var limit int64
		var next uint32
		sealed := false
		if i >= 0 {
			limit = r.s.segs[i].size
			if sealed = i+1 < len(r.s.segs); sealed {
				next = r.s.segs[i+1].num
			}
		}
		r.s.mu.Unlock()
		if i < 0 {
			return r.pos, nil, fmt.Errorf("read spool at %v: segment no longer exists", r.pos)
		}
		off := int64(r.pos.Offset)
		if off >= limit {
			if sealed {
				r.pos = Position{Segment: next, Offset: segmentHeaderSize}
				continue
			}
			return r.pos, nil, io.EOF
		}
		if r.ff.f == nil || r.fnum != r.pos.Segment {
			if err := r.open(r.pos.Segment); err != nil {
				return r.pos, nil, err
			}
		}
		payload, end, bad, err := r.ff.frame(off, limit)
		if err != nil {
			return r.pos, nil, fmt.Errorf("read spool at %v: %w", r.pos, err)
		}
		if bad != "" {
			return r.pos, nil, fmt.Errorf("%w: segment %d at offset %d: %s", ErrCorrupt, r.pos.Segment, r.pos.Offset, bad)
		}
		p := r.pos
		r.pos.Offset = uint32(end)
		return p, payload, nil
	}
}

func (r *Reader) open(num uint32) error {
	if r.ff.f != nil {
		r.ff.f.Close()
		r.ff.f = nil
	}
	f, err := os.Open(segmentPath(r.s.dir, num))
	if err != nil {
		return fmt.Errorf("read spool segment %d: %w", num, err)
	}
	r.ff = frameFile{f: f, buf: r.ff.buf[:0]}
	r.fnum = num
	return nil
}

// Close releases the Reader's open file.
func (r *Reader) Close() error {
	if r.ff.f == nil {
		return nil
	}
	err := r.ff.f.Close()
	r.ff.f = nil
	return err
}
