package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/splitmix"
)

// The Spool is the write-ahead log between the collector and ClickHouse:
// a hit is answered only after its record is on disk (fsync done), so an
// answered hit survives a crash or a ClickHouse outage ("answered =
// stored"). Records live in append-only segment files named
// "<segment number as 8 hex digits>.seg". A segment starts with a 16-byte
// header (magic + the spool's random id) and then holds frames:
//
//	length uint32 LE | CRC-32C of (length bytes ‖ payload) uint32 LE | payload
//
// where the payload is one record (see AppendEvent).
//
// Group commit: Append copies its frame into the pending group and waits;
// one committer goroutine swaps the group out, writes it and fsyncs once,
// then wakes every appender of that group. No lock is held across the
// write or the fsync, so new appends fill the next group meanwhile.
//
// Recovery at open: the last segment may end in a torn write (a crash
// during a group that was never acknowledged): everything from the first
// invalid frame on is truncated away and the byte count logged. An older
// segment was fsynced completely before its successor was created, so an
// invalid frame there is media corruption of acknowledged data: Open
// refuses to start with an error wrapping ErrCorrupt that names the
// segment and offset, instead of silently losing records. The operator
// decides (restore the file, or move the segment away and accept the loss).
//
// A full disk (ENOSPC on a write or on creating a segment) is not fatal:
// the bytes of the failed write are truncated away, the appenders whose
// records were not made durable get ErrNoSpace (the collector answers
// 503), further appends fail fast, and every probeInterval one append
// is let through to try again, so ingestion resumes by itself once space
// returns. A failed fsync stays fatal (see commitLoop).
//
// A spool directory may be used by one process at a time (an advisory lock
// file enforces it).

// Errors of the spool.
var (
	// ErrFull is returned by Append when the unconsumed bytes would
	// exceed Config.MaxBytes; the collector answers 503.
	ErrFull = errors.New("spool full")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("spool closed")
	// ErrCorrupt marks durable data that fails its checks.
	ErrCorrupt = errors.New("spool corrupt")
	// ErrNoSpace is returned by Append while the spool's file system
	// is full; the collector answers 503 and the spool retries by itself.
	ErrNoSpace = errors.New("spool: no space left on device")
)

// probeInterval is how often, while the disk is full, one append is
// let through to find out whether space came back.
const probeInterval = 250 * time.Millisecond

const (
	segmentMagic      = "MOTESPL1"
	segmentHeaderSize = 16 // magic + spool id
	frameHeaderSize   = 8  // length + crc

	defaultMaxBytes     = 1 << 30
	defaultSegmentBytes = 64 << 20
	// Offsets are uint32 and a segment may exceed SegmentBytes by one
	// frame, so segments are kept well below 4 GiB.
	maxSegmentBytes = 1 << 31

	// A group buffer that grew beyond this during a burst is dropped after
	// its write rather than kept for reuse, so one burst does not pin
	// memory forever.
	maxSpareGroupBytes = 8 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Config configures a Spool. The zero value of every field but Dir
// means its default.
type Config struct {
	// Dir holds the segment files and the checkpoint. Required.
	Dir string
	// MaxBytes caps the bytes appended but not yet consumed by the
	// Batcher; beyond it Append fails fast with ErrFull. Default 1 GiB.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file is started;
	// whole segments behind the checkpoint are deleted. Default 64 MiB,
	// at most 2 GiB.
	SegmentBytes int64
	// Logger receives recovery and failure reports (counts and positions,
	// never record content). Default slog.Default().
	Logger *slog.Logger
}

// Counters is a snapshot of a spool's counters.
type Counters struct {
	PendingBytes   int64  // appended (or being appended) and not yet checkpointed
	Segments       int64  // segment files on disk
	Appended       uint64 // records made durable since open
	FullRejections uint64 // Append calls refused with ErrFull
	NoSpace        uint64 // Append calls refused because the disk was full
	Fsyncs         uint64 // fsyncs of segment files
	TruncatedBytes int64  // torn tail removed at open
}

// Position addresses a record: its segment number and byte offset in that
// segment. Positions order records.
type Position struct {
	Segment uint32
	Offset  uint32
}

// Less reports whether p comes before q.
func (p Position) Less(q Position) bool {
	return p.Segment < q.Segment || p.Segment == q.Segment && p.Offset < q.Offset
}

func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Segment, p.Offset) }

type segInfo struct {
	num  uint32
	size int64 // durable bytes, header included
}

// Spool is a durable, append-only queue of events. Append is safe for
// concurrent use; reading (NewReader, Wait, Commit) is meant for one
// consumer, the Batcher.
type Spool struct {
	dir      string
	maxBytes int64
	segBytes int64
	log      *slog.Logger
	id       uint64
	lock     *os.File
	bufPool  sync.Pool
	// syncFile is os.File.Sync and writeFile os.File.Write; tests replace
	// them to simulate a failing, full or slow disk.
	syncFile  func(*os.File) error
	writeFile func(*os.File, []byte) (int, error)
	// beforeWait, when set (by tests), is called by Wait each time it is
	// about to block, so a test can act once a waiter is parked.
	beforeWait func()

	mu          sync.Mutex
	commitCond  sync.Cond // committer waits here for a pending group
	durableCond sync.Cond // appenders wait here for their group's fsync
	pending     []byte
	spare       []byte
	appendSeq   uint64 // records appended to pending, ever
	durableSeq  uint64 // records durable, ever
	closing     bool
	stopped     bool // the committer has exited
	failErr     error
	waitCh      chan struct{} // closed when data becomes durable; nil if nobody waits
	segs        []segInfo     // ascending; the last is the active segment
	checkpoint  Position
	unconsumed  int64
	cpMu        sync.Mutex // serialises checkpoint writes
	// The disk-full state. After a write fails with ENOSPC, records
	// failLo..failHi (append sequence numbers) were refused, and noSpace
	// makes Append fail fast until a probe. A probe waits until no
	// appender is left waiting (waiters), so the failed range is never
	// replaced while someone still has to read it.
	noSpace        bool
	noSpaceSince   time.Time
	failLo, failHi uint64
	waiters        int

	// Owned by the committer goroutine.
	active *os.File
	done   chan struct{}

	pendingBytes   atomic.Int64
	segments       atomic.Int64
	appended       atomic.Uint64
	fullRejections atomic.Uint64
	noSpaceRejects atomic.Uint64
	fsyncs         atomic.Uint64
	truncated      atomic.Int64
	// full is set when an Append is refused at the cap and cleared when the
	// Batcher frees space: readiness reports it, so a load balancer stops
	// sending hits that would only be refused.
	full atomic.Bool
}

// Open opens (creating if needed) the spool in cfg.Dir, recovers it
// as described in the package comment and starts its committer.
func Open(cfg Config) (*Spool, error) {
	if cfg.Dir == "" {
		return nil, errors.New("open spool: no directory configured")
	}
	s := &Spool{
		dir:       cfg.Dir,
		maxBytes:  cfg.MaxBytes,
		segBytes:  cfg.SegmentBytes,
		log:       cfg.Logger,
		syncFile:  (*os.File).Sync,
		writeFile: (*os.File).Write,
		done:      make(chan struct{}),
		failLo:    1, // an empty range: sequence numbers start at 1
	}
	if s.maxBytes <= 0 {
		s.maxBytes = defaultMaxBytes
	}
	if s.segBytes <= 0 {
		s.segBytes = defaultSegmentBytes
	}
	s.segBytes = min(max(s.segBytes, segmentHeaderSize+frameHeaderSize+1), maxSegmentBytes)
	if s.log == nil {
		s.log = slog.Default()
	}
	s.commitCond.L = &s.mu
	s.durableCond.L = &s.mu
	s.bufPool.New = func() any { b := make([]byte, 0, 1024); return &b }

	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool %q: %w", s.dir, err)
	}
	// A directory that already existed with group or other access (made
	// by hand, or by a tool with a wider umask) is tightened: the spool
	// holds the same fields as the events table.
	if fi, err := os.Stat(s.dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(s.dir, 0o700); err != nil {
			return nil, fmt.Errorf("open spool %q: tighten mode %o to 0700: %w", s.dir, fi.Mode().Perm(), err)
		}
		s.log.Warn("spool directory was open to other users; its mode is now 0700", "dir", s.dir, "was", fmt.Sprintf("%o", fi.Mode().Perm()))
	}
	lock, err := lockDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open spool %q: %w", s.dir, err)
	}
	s.lock = lock
	if err := s.recover(); err != nil {
		unlockDir(s.lock)
		if s.active != nil {
			s.active.Close()
		}
		return nil, fmt.Errorf("open spool %q: %w", s.dir, err)
	}
	s.segments.Store(int64(len(s.segs)))
	s.pendingBytes.Store(s.unconsumed)
	go s.commitLoop()
	return s, nil
}

// Accepting reports whether Append may succeed: the spool is open, its disk
// is not full, and the last Append was not refused at the cap since the
// Batcher last freed space.
func (s *Spool) Accepting() bool {
	s.mu.Lock()
	open := !s.closing && !s.stopped && !s.noSpace
	s.mu.Unlock()
	return open && !s.full.Load()
}

// Append makes e durable, with the session rows its hit produced in the
// same record (AppendRecord), so that a visit's rows are exactly as
// durable as the hit: it returns nil only after the record has been
// written and fsynced. It copies everything it needs from e and sessions
// before returning, so they may be reused at once. It fails fast with
// ErrFull at the cap and with ErrClosed after Close; an event that
// ValidateEvent refuses, or a session row ValidateSession refuses, is an
// error wrapping ErrInvalidEvent. It does not allocate after warm-up.
func (s *Spool) Append(e *mote.Event, sessions ...*mote.SessionRow) error {
	if err := ValidateEvent(e); err != nil {
		return fmt.Errorf("spool append: %w", err)
	}
	if len(sessions) > MaxSessionRows {
		return fmt.Errorf("spool append: %w: %d session rows, at most %d", ErrInvalidEvent, len(sessions), MaxSessionRows)
	}
	for _, r := range sessions {
		if err := ValidateSession(r); err != nil {
			return fmt.Errorf("spool append: %w", err)
		}
	}
	bp := s.bufPool.Get().(*[]byte)
	b := append((*bp)[:0], 0, 0, 0, 0, 0, 0, 0, 0)
	b = AppendRecord(b, e, sessions...)
	n := len(b) - frameHeaderSize
	if n > MaxRecordBytes {
		*bp = b[:0]
		s.bufPool.Put(bp)
		return fmt.Errorf("spool append: %w: record of %d bytes, at most %d", ErrInvalidEvent, n, MaxRecordBytes)
	}
	sealFrame(b)

	s.mu.Lock()
	switch {
	case s.closing || s.stopped:
		failErr := s.failErr
		s.mu.Unlock()
		s.putBuf(bp, b)
		if failErr != nil {
			return fmt.Errorf("spool append: %w", failErr)
		}
		return ErrClosed
	case s.noSpace && !s.probeLocked():
		s.mu.Unlock()
		s.putBuf(bp, b)
		s.noSpaceRejects.Add(1)
		return ErrNoSpace
	case s.unconsumed+int64(len(b)) > s.maxBytes:
		s.mu.Unlock()
		s.putBuf(bp, b)
		s.fullRejections.Add(1)
		s.full.Store(true)
		return ErrFull
	}
	s.pending = append(s.pending, b...)
	s.unconsumed += int64(len(b))
	s.pendingBytes.Store(s.unconsumed)
	s.appendSeq++
	seq := s.appendSeq
	s.commitCond.Signal()
	s.waiters++
	for s.durableSeq < seq && !s.stopped {
		s.durableCond.Wait()
	}
	s.waiters--
	var err error
	switch {
	case s.durableSeq < seq:
		err = ErrClosed
		if s.failErr != nil {
			err = fmt.Errorf("spool append: %w", s.failErr)
		}
	case seq >= s.failLo && seq <= s.failHi:
		err = ErrNoSpace
		s.noSpaceRejects.Add(1)
	}
	s.mu.Unlock()
	s.putBuf(bp, b)
	if err == nil {
		s.appended.Add(1)
	}
	return err
}

// probeLocked decides whether an append may try the full disk again: once
// probeInterval has passed and no refused appender is still waiting.
// It then leaves the disk-full state; the next failed write re-enters it.
func (s *Spool) probeLocked() bool {
	if s.waiters > 0 || time.Since(s.noSpaceSince) < probeInterval {
		return false
	}
	s.noSpace = false
	return true
}

func (s *Spool) putBuf(bp *[]byte, b []byte) {
	*bp = b[:0]
	s.bufPool.Put(bp)
}

// sealFrame fills in the frame header of b (8 reserved bytes + payload).
func sealFrame(b []byte) {
	binary.LittleEndian.PutUint32(b[0:4], uint32(len(b)-frameHeaderSize))
	crc := crc32.Update(crc32.Checksum(b[0:4], crcTable), crcTable, b[frameHeaderSize:])
	binary.LittleEndian.PutUint32(b[4:8], crc)
}

// commitLoop is the committer: it writes and fsyncs each pending group and
// wakes the appenders whose records it made durable. A full disk is
// survived (noSpaceLocked). After any other write or fsync error it stops
// for good: the data on disk after the last good fsync is unknown (Linux
// may drop dirty pages after a failed fsync), so pretending to continue
// would break "answered = stored". Recovery at the next open sorts out the
// tail.
func (s *Spool) commitLoop() {
	defer close(s.done)
	s.mu.Lock()
	for {
		for len(s.pending) == 0 && !s.closing {
			s.commitCond.Wait()
		}
		if len(s.pending) == 0 {
			break
		}
		group, seq := s.pending, s.appendSeq
		s.pending, s.spare = s.spare[:0], nil
		s.mu.Unlock()
		written, err := s.writeGroup(group)
		s.mu.Lock()
		if cap(group) <= maxSpareGroupBytes {
			s.spare = group[:0]
		}
		if errors.Is(err, errDiskFull) {
			s.noSpaceLocked(group, written)
			continue
		}
		if err != nil {
			s.failErr = err
			s.log.Error("spool write failed; spool stopped", "err", err)
			break
		}
		s.durableSeq = seq
		s.durableCond.Broadcast()
		s.wakeWaitersLocked()
	}
	s.stopped = true
	s.durableCond.Broadcast()
	s.wakeWaitersLocked()
	s.mu.Unlock()
}

// errDiskFull marks a write that failed because the disk is full and was
// rolled back, so that the spool can go on.
var errDiskFull = errors.New("no space left on device")

// noSpaceLocked handles a group of which only the first written bytes
// became durable because the disk is full: those records succeed, the
// rest of the group and everything appended meanwhile are refused, and the
// spool enters the disk-full state. The caller holds s.mu.
func (s *Spool) noSpaceLocked(group []byte, written int) {
	ok := uint64(countFrames(group[:written]))
	s.failLo, s.failHi = s.durableSeq+ok+1, s.appendSeq
	s.unconsumed -= int64(len(group)-written) + int64(len(s.pending))
	s.pendingBytes.Store(s.unconsumed)
	s.pending = s.pending[:0]
	s.durableSeq = s.appendSeq
	if !s.noSpace {
		s.log.Warn("spool: disk full; hits are refused until space returns", "dir", s.dir)
	}
	s.noSpace = true
	s.noSpaceSince = time.Now()
	s.durableCond.Broadcast()
	s.wakeWaitersLocked()
}

// countFrames returns the number of whole frames in b.
func countFrames(b []byte) int {
	n := 0
	for len(b) >= frameHeaderSize {
		b = b[frameHeaderSize+int(binary.LittleEndian.Uint32(b)):]
		n++
	}
	return n
}

// writeGroup writes group (whole frames) to the active segment, rolling
// over to a new segment at frame boundaries when the active one is full,
// and fsyncs. Each part becomes visible to readers once fsynced. It
// returns how many leading bytes of group are durable. A write or segment
// creation that fails for want of space is undone (the segment is cut
// back to its durable size) and reported as errDiskFull.
func (s *Spool) writeGroup(group []byte) (int, error) {
	written := 0
	for len(group) > 0 {
		s.mu.Lock()
		cur := s.segs[len(s.segs)-1]
		s.mu.Unlock()
		n := framesFitting(group, s.segBytes-cur.size)
		if n == 0 {
			if cur.size > segmentHeaderSize {
				if err := s.rollover(cur.num + 1); err != nil {
					if errors.Is(err, syscall.ENOSPC) {
						return written, fmt.Errorf("%w: %w", errDiskFull, err)
					}
					return written, err
				}
				continue
			}
			// A frame larger than a whole segment goes alone into an empty one.
			n = int(frameHeaderSize + binary.LittleEndian.Uint32(group))
		}
		if _, err := s.writeFile(s.active, group[:n]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				// Cut the partial write away; what was fsynced before
				// it is untouched. If even that fails, stop.
				if terr := s.active.Truncate(cur.size); terr != nil {
					return written, fmt.Errorf("write segment %d: %w; truncate: %w", cur.num, err, terr)
				}
				return written, fmt.Errorf("%w: write segment %d: %w", errDiskFull, cur.num, err)
			}
			return written, fmt.Errorf("write segment %d: %w", cur.num, err)
		}
		if err := s.syncFile(s.active); err != nil {
			return written, fmt.Errorf("fsync segment %d: %w", cur.num, err)
		}
		s.fsyncs.Add(1)
		s.mu.Lock()
		s.segs[len(s.segs)-1].size += int64(n)
		s.wakeWaitersLocked()
		s.mu.Unlock()
		group = group[n:]
		written += n
	}
	return written, nil
}

// framesFitting returns the length of the longest prefix of whole frames
// of group that fits in room bytes.
func framesFitting(group []byte, room int64) int {
	n := 0
	for n < len(group) {
		next := n + frameHeaderSize + int(binary.LittleEndian.Uint32(group[n:]))
		if int64(next) > room {
			break
		}
		n = next
	}
	return n
}

// rollover seals the active segment (already fsynced) and starts segment
// num: header written, file and directory fsynced before any record goes
// in, so a durable record never sits in a segment whose name could vanish.
func (s *Spool) rollover(num uint32) error {
	f, err := createSegment(s.dir, num, s.id)
	if err != nil {
		return err
	}
	old := s.active
	s.active = f
	old.Close()
	s.mu.Lock()
	s.segs = append(s.segs, segInfo{num: num, size: segmentHeaderSize})
	s.segments.Store(int64(len(s.segs)))
	s.mu.Unlock()
	return nil
}

// BatchID is the id under which the Batcher stores the batch whose first
// record is at pos. It is deterministic, different for every position of
// this spool (a bijection of the position, keyed by the spool's random
// id), and unrelated between spools, so two collectors, or a spool
// directory recreated from scratch, never produce ids that a replay check
// would mistake for each other's batches.
func (s *Spool) BatchID(pos Position) uint64 {
	return splitmix.Mix64((uint64(pos.Segment)<<32 | uint64(pos.Offset)) ^ s.id)
}

// ID is the spool's random id, kept in its segment headers: the same for
// as long as the directory is, so it names one collector's spool across
// its restarts (sessions rows carry it, see mote.SessionRow.SpoolID).
func (s *Spool) ID() uint64 { return s.id }

// Counters returns a snapshot of the spool's counters.
func (s *Spool) Counters() Counters {
	return Counters{
		PendingBytes:   s.pendingBytes.Load(),
		Segments:       s.segments.Load(),
		Appended:       s.appended.Load(),
		FullRejections: s.fullRejections.Load(),
		NoSpace:        s.noSpaceRejects.Load(),
		Fsyncs:         s.fsyncs.Load(),
		TruncatedBytes: s.truncated.Load(),
	}
}

// Close stops accepting appends, makes what is pending durable, wakes
// every waiter (appenders whose record could not be made durable get an
// error) and releases the directory. Drain the Batcher before Close:
// Commit and Wait fail after it. Close is idempotent.
func (s *Spool) Close() error {
	s.mu.Lock()
	already := s.closing
	s.closing = true
	s.commitCond.Signal()
	s.mu.Unlock()
	<-s.done
	if already {
		return nil
	}
	s.mu.Lock()
	s.wakeWaitersLocked()
	failErr := s.failErr
	s.mu.Unlock()
	err := s.active.Close()
	unlockDir(s.lock)
	if failErr != nil {
		return fmt.Errorf("close spool %q: %w", s.dir, failErr)
	}
	if err != nil {
		return fmt.Errorf("close spool %q: %w", s.dir, err)
	}
	return nil
}
