package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/spool"
)

// The Batcher tails the Spool and inserts its records into an Engine in
// batches, in spool order, and moves the spool's checkpoint only after the
// Engine accepted a batch. Together with the spool this gives "answered =
// stored, exactly once":
//
//   - A batch is stored under a batch id derived from the spool position of
//     its first record (Spool.BatchID), so the same records always get the
//     same id, whichever process inserts them.
//   - When the outcome of an insert is unknown (an error or timeout: the
//     server may have stored the block before the connection broke), and
//     for the first batch after the spool was opened (the previous process
//     may have inserted without checkpointing), the Batcher first asks
//     Engine.BatchRows how many rows are stored under that id. Inserts are
//     atomic and in order, so n rows there means exactly the next n records
//     are stored: they are skipped, and the check repeats at the following
//     position, until a position has nothing stored. The rest is inserted
//     under that position's id. A replay therefore neither duplicates nor
//     loses a record, even if the previous process cut its batches
//     differently (n may reach beyond the current batch).
//   - ClickHouse down: the same batch is retried with exponential backoff
//     (capped) until it goes in; nothing later is inserted before it. The
//     spool keeps accepting hits up to its cap meanwhile.
//
// Session rows travel in the records of the hits they derive from and are
// stored with them, exactly once, under the same batch id:
//
//   - For each insert, the sessions rows of its records go in first (one
//     insert per partition, toYYYYMM(start_ts), so each is atomic), then
//     the events. Stored events therefore imply stored sessions rows for
//     the same records, and the replay check above skips both.
//   - When the events of a batch are not stored but the check is due, the
//     Batcher reads which visit states are stored under the batch id
//     (storedStates): an earlier attempt stored, per partition, the rows
//     of a prefix of the batch's records, which ends at the last of them
//     (storedPrefix; a count would not do, since merges fold states with
//     their cancels). That prefix is passed over and the rest inserted. A batch is never
//     shorter than the one an earlier process cut at the same position
//     (its records were all durable then), unless MaxRows was lowered in
//     between.
//
// A record that cannot be read or decoded (spool corruption, or a record
// written by a newer version) stops Run with an error naming its
// position rather than being skipped: losing accepted hits silently is
// worse than an alert.

// BatcherConfig tunes a Batcher. The zero value of each field means its
// default.
type BatcherConfig struct {
	// MaxRows cuts a batch once it holds this many rows. Default 10000.
	MaxRows int
	// MaxWait cuts a batch this long after its first row was read, however
	// small it is, bounding how stale the dashboards are. Default 1s.
	MaxWait time.Duration
	// MinBackoff and MaxBackoff bound the exponential wait between retries
	// of a failed insert or replay check. Defaults 100ms and 10s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// InsertTimeout bounds one insert. An insert runs to its end (or this
	// timeout) even when Run's context ends meanwhile: the server may
	// commit an insert the client abandoned after the replay check that
	// follows has looked, and the batch would then be stored twice where
	// the server has no insert_deduplication_token (seen with mote demo
	// on ClickHouse 18.16). Default 1m.
	InsertTimeout time.Duration
	// Sites are the sites whose days around now the Batcher counts into
	// day_counts as it stores them (see DayCounter); other sites' rows
	// are stored and their days read raw until summarised.
	Sites []mote.Site
	// Now is the day counts' clock (which days are around now); nil
	// means time.Now.
	Now func() time.Time
	// MarkEvery is how often, at most, the Batcher writes the day counts
	// and changed slots of the batches it stored, and moves the spool's
	// checkpoint, while the spool holds more than a batch (when it has
	// caught up, it writes after every batch). Default 1s.
	MarkEvery time.Duration
}

// BatcherCounters is a snapshot of a Batcher's counters.
type BatcherCounters struct {
	RowsStored    uint64  // rows inserted by this Batcher
	RowsSkipped   uint64  // records found already stored on a replay check
	SessionRows   uint64  // sessions rows inserted by this Batcher
	SessionSkips  uint64  // sessions rows found already stored on a replay check
	Batches       uint64  // successful inserts
	InsertErrors  uint64  // failed inserts and failed replay checks
	LastBatchRows uint64  // rows of the latest successful insert
	InsertSeconds float64 // total time spent in successful inserts
	DayPairs      uint64  // (visitor, value) pairs the day counts hold in memory
}

// Batcher moves records from a Spool into an Engine. Run and Drain must
// not run at the same time (the second returns an error); Counters may be
// called from anywhere.
type Batcher struct {
	sp  *spool.Spool
	eng Engine
	cfg BatcherConfig
	log *slog.Logger

	busy sync.Mutex // held by Run or Drain

	// State carried from Run to Drain, so that rows read but not yet
	// stored when Run stopped are not read twice.
	r       *spool.Reader
	rows    []mote.Event
	starts  []spool.Position // spool position of each row
	sess    []mote.SessionRow
	sessEnd []int // sessEnd[i]: sessions rows of rows[:i+1]
	// batchStates are the states the replay check found stored under the
	// batch's id (nil: none, or no check since the last insert). Any
	// failed insert sets verify, so a retry reads them again first.
	batchStates map[visitState]struct{}
	partition   []mote.SessionRow // insertSessions' scratch
	// changes are the slots of the rows stored or found stored since
	// the last checkpoint, written to daily_stats_slots before it.
	changes dayChanges
	// days counts the rows stored since the last checkpoint into
	// day_counts, written before changes (see DayCounter).
	days      *DayCounter
	committed spool.Position
	marked    time.Time // when the counts and slots were last written
	verify    bool      // check BatchRows before the next insert
	skip      uint64    // records already stored by an earlier run, still to pass over

	rowsStored    atomic.Uint64
	rowsSkipped   atomic.Uint64
	sessStored    atomic.Uint64
	sessSkipped   atomic.Uint64
	batches       atomic.Uint64
	insertErrors  atomic.Uint64
	lastBatchRows atomic.Uint64
	insertNanos   atomic.Int64
	dayPairs      atomic.Uint64
}

// NewBatcher returns a Batcher that moves sp's records into eng. log
// receives insert failures and replay decisions (ids, counts and errors,
// never row content); nil means slog.Default().
func NewBatcher(sp *spool.Spool, eng Engine, cfg BatcherConfig, log *slog.Logger) *Batcher {
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 10000
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.InsertTimeout <= 0 {
		cfg.InsertTimeout = time.Minute
	}
	if cfg.MarkEvery <= 0 {
		cfg.MarkEvery = time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	// The first batch after opening the spool is always checked: the
	// previous process may have inserted it without checkpointing.
	return &Batcher{sp: sp, eng: eng, cfg: cfg, log: log, verify: true, days: NewDayCounter(cfg.Sites, cfg.Now)}
}

// Counters returns a snapshot of the Batcher's counters.
func (b *Batcher) Counters() BatcherCounters {
	return BatcherCounters{
		RowsStored:    b.rowsStored.Load(),
		RowsSkipped:   b.rowsSkipped.Load(),
		SessionRows:   b.sessStored.Load(),
		SessionSkips:  b.sessSkipped.Load(),
		Batches:       b.batches.Load(),
		InsertErrors:  b.insertErrors.Load(),
		LastBatchRows: b.lastBatchRows.Load(),
		InsertSeconds: time.Duration(b.insertNanos.Load()).Seconds(),
		DayPairs:      b.dayPairs.Load(),
	}
}

func (b *Batcher) start() error {
	if !b.busy.TryLock() {
		return errors.New("batcher: Run or Drain already in progress")
	}
	if b.r == nil {
		from := b.sp.Checkpoint()
		r, err := b.sp.NewReader(from)
		if err != nil {
			b.busy.Unlock()
			return fmt.Errorf("batcher: %w", err)
		}
		b.r, b.committed = r, from
	}
	return nil
}

// Run tails the spool and stores its records until ctx is done, then
// returns nil; rows it had read but not stored stay for Drain. It returns
// an error if the spool cannot be read (see the type comment), or wrapping
// spool.ErrClosed once the spool can no longer grow (closed, or stopped by
// a write failure) and everything read has been stored.
func (b *Batcher) Run(ctx context.Context) error {
	if err := b.start(); err != nil {
		return err
	}
	defer b.busy.Unlock()
	var deadline time.Time // when the current batch is cut, however small
	for {
		if ctx.Err() != nil {
			return nil
		}
		eof, err := b.fill()
		if err != nil {
			return err
		}
		if len(b.rows) > 0 && deadline.IsZero() {
			deadline = time.Now().Add(b.cfg.MaxWait)
		}
		if !eof || len(b.rows) > 0 && !time.Now().Before(deadline) {
			if err := b.flush(ctx, eof); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			deadline = time.Time{}
			continue
		}
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if len(b.rows) > 0 {
			wctx, cancel = context.WithDeadline(ctx, deadline)
		}
		err = b.sp.Wait(wctx, b.r.Pos())
		cancel()
		if errors.Is(err, spool.ErrClosed) {
			if len(b.rows) > 0 {
				deadline = time.Now() // store what is left, then stop
				continue
			}
			return fmt.Errorf("batcher: %w", err)
		}
	}
}

// Drain stores every record that is durable when it is called, in batches
// of MaxRows, ignoring MaxWait, retrying failures until ctx is done (then
// it returns ctx's error). Call it on shutdown after Run returned and
// before Spool.Close.
func (b *Batcher) Drain(ctx context.Context) error {
	if err := b.start(); err != nil {
		return err
	}
	defer b.busy.Unlock()
	target := b.sp.End()
	for {
		eof, err := b.fill()
		if err != nil {
			return err
		}
		if err := b.flush(ctx, true); err != nil {
			return fmt.Errorf("batcher drain: %w", err)
		}
		if eof || !b.r.Pos().Less(target) {
			return nil
		}
	}
}

// fill reads records into b.rows until MaxRows (eof false) or the durable
// end (eof true). Records an earlier run already stored are passed over.
func (b *Batcher) fill() (eof bool, err error) {
	for len(b.rows) < b.cfg.MaxRows {
		pos, rec, err := b.r.Next()
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("batcher: %w", err)
		}
		n := len(b.rows)
		if n < cap(b.rows) {
			b.rows = b.rows[:n+1] // reuse the element's prop slices
		} else {
			b.rows = append(b.rows, mote.Event{})
		}
		k := len(b.sess)
		if b.sess, err = spool.DecodeRecord(rec, &b.rows[n], b.sess); err != nil {
			b.rows, b.sess = b.rows[:n], b.sess[:k]
			return false, fmt.Errorf("batcher: record at %v: %w", pos, err)
		}
		if b.skip > 0 {
			// Stored already; its days are marked changed again all the
			// same (the crash may have come before they were).
			b.skip--
			b.rowsSkipped.Add(1)
			b.noteRows(b.rows[n:], b.sess[k:])
			b.rows, b.sess = b.rows[:n], b.sess[:k]
			continue
		}
		b.starts = append(b.starts, pos)
		b.sessEnd = append(b.sessEnd, len(b.sess))
	}
	return false, nil
}

// flush stores b.rows (checking first where the outcome of an earlier
// insert is unknown), retrying with backoff, then writes the stored rows'
// day counts and changed slots and moves the checkpoint to the reader's
// position: when final (the reader has caught up with the spool), or
// MarkEvery after it last did. On ctx's end it keeps the rows not yet
// stored.
func (b *Batcher) flush(ctx context.Context, final bool) error {
	end := b.r.Pos()
	backoff := b.cfg.MinBackoff
	retry := func(what string, id uint64, err error) error {
		b.insertErrors.Add(1)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.log.Warn("batcher: "+what+" failed; retrying", "batch", id, "rows", len(b.rows), "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, b.cfg.MaxBackoff)
		return nil
	}
	for len(b.rows) > 0 {
		id := b.sp.BatchID(b.starts[0])
		if b.verify {
			n, err := b.eng.BatchRows(ctx, id)
			if err != nil {
				if err := retry("replay check", id, err); err != nil {
					return err
				}
				continue
			}
			if n > 0 {
				take := min(n, uint64(len(b.rows)))
				b.noteChanges(int(take))
				b.dropFront(int(take))
				b.skip += n - take
				b.rowsSkipped.Add(take)
				b.log.Info("batcher: skipped records already stored", "batch", id, "rows", n)
				continue // the following position may be stored too
			}
			if b.batchStates, err = storedStates(ctx, b.eng, id); err != nil {
				if err := retry("sessions replay check", id, err); err != nil {
					return err
				}
				continue
			}
			b.verify = false
		}
		n := sameMonthPrefix(b.rows)
		t0 := time.Now()
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.InsertTimeout)
		// The visitors stored before these rows, for the days they are
		// the first of in this process (after the replay check: rows it
		// found stored are among them).
		if err := b.days.Prepare(ictx, b.eng, b.rows[:n], b.sess[:b.sessEnd[n-1]]); err != nil {
			cancel()
			if err := retry("counting days", id, err); err != nil {
				return err
			}
			continue
		}
		err := b.insertSessions(ictx, id, b.sess[:b.sessEnd[n-1]])
		if err == nil {
			err = b.eng.InsertEvents(ictx, id, b.rows[:n])
		}
		cancel()
		if err != nil {
			b.verify = true // the block may have been stored anyway
			if err := retry("insert", id, err); err != nil {
				return err
			}
			continue
		}
		b.insertNanos.Add(int64(time.Since(t0)))
		b.rowsStored.Add(uint64(n))
		b.batches.Add(1)
		b.lastBatchRows.Store(uint64(n))
		b.batchStates = nil
		b.days.Count(b.rows[:n], b.sess[:b.sessEnd[n-1]])
		b.dayPairs.Store(uint64(b.days.Pairs()))
		b.noteChanges(n)
		b.dropFront(n)
	}
	// Under load, the counts and marks of several batches go in one
	// write each (two inserts a batch cost as much as storing it); the
	// checkpoint waits for them, so a crash replays those batches.
	if !final && time.Since(b.marked) < b.cfg.MarkEvery {
		return nil
	}
	b.marked = time.Now()
	// Each write runs to its end (or InsertTimeout) like an insert, and is
	// retried with backoff until it succeeds or ctx ends.
	write := func(what string, pending func() bool, do func(context.Context) error) error {
		for pending() {
			ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.InsertTimeout)
			err := do(ictx)
			cancel()
			if err != nil {
				if err := retry(what, 0, err); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// The days' counts go first: a crash between the two leaves the
	// slots short of them, and readers read those days raw.
	if err := write("counting days", b.days.Pending, func(ctx context.Context) error { return b.days.Write(ctx, b.eng) }); err != nil {
		return err
	}
	// The days these rows changed are marked after they are stored, so
	// that a summary computed before the rows were visible is stale by
	// then; and before the checkpoint, so that a crash in between replays
	// the batch, which marks them again (a replay that finds its rows
	// stored marks them too).
	err := write("marking changed days", func() bool { return len(b.changes) > 0 }, func(ctx context.Context) error {
		if err := b.changes.write(ctx, b.eng); err != nil {
			return err
		}
		clear(b.changes)
		return nil
	})
	if err != nil {
		return err
	}
	if end == b.committed {
		return nil
	}
	if err := b.sp.Commit(end); err != nil {
		// The rows are stored; only the checkpoint lags. A later commit
		// covers it, and a restart replays from the old one, which the
		// replay check makes harmless.
		b.log.Error("batcher: checkpoint failed", "err", err)
		return nil
	}
	b.committed = end
	return nil
}

// sameMonthPrefix returns how many leading rows fall in the UTC month of
// the first. events is partitioned by month, and ClickHouse writes one part
// per partition: an insert spanning two months is not atomic, so a crash
// could store half of it. Cutting batches at month boundaries keeps every
// insert all-or-nothing, which the replay check (BatchRows) relies on.
func sameMonthPrefix(rows []mote.Event) int {
	y, m, _ := rows[0].TS.UTC().Date()
	for i := 1; i < len(rows); i++ {
		if y2, m2, _ := rows[i].TS.UTC().Date(); y2 != y || m2 != m {
			return i
		}
	}
	return len(rows)
}

// insertSessions stores a batch's sessions rows under its id, one insert
// per partition (each atomic), passing over the rows an earlier attempt
// stored (storedPrefix of batchStates).
func (b *Batcher) insertSessions(ctx context.Context, id uint64, rows []mote.SessionRow) error {
	for len(rows) > 0 {
		month := sessionMonth(&rows[0])
		part := b.partition[:0]
		rest := rows[:0:0]
		for i := range rows {
			if sessionMonth(&rows[i]) != month {
				rest = append(rest, rows[i])
				continue
			}
			part = append(part, rows[i])
			part[len(part)-1].BatchID, part[len(part)-1].SpoolID = id, b.sp.ID()
		}
		b.partition = part
		skip := uint64(storedPrefix(part, b.batchStates))
		if skip > 0 {
			b.sessSkipped.Add(skip)
			b.log.Info("batcher: skipped sessions rows already stored", "batch", id, "rows", skip)
		}
		if len(part) > int(skip) {
			if err := InsertSessionRows(ctx, b.eng, part[skip:]); err != nil {
				return fmt.Errorf("insert sessions rows: %w", err)
			}
			b.sessStored.Add(uint64(len(part)) - skip)
		}
		rows = rest
	}
	return nil
}

// noteChanges adds the slots of the first n rows and their sessions rows
// to b.changes.
func (b *Batcher) noteChanges(n int) {
	if n > 0 {
		b.noteRows(b.rows[:n], b.sess[:b.sessEnd[n-1]])
	}
}

func (b *Batcher) noteRows(rows []mote.Event, sess []mote.SessionRow) {
	if b.changes == nil {
		b.changes = dayChanges{}
	}
	b.changes.addEvents(rows)
	b.changes.addSessions(sess)
}

// dropFront removes the first n rows (and their sessions rows), clearing
// the vacated elements so that no two elements share prop slices when
// they are reused.
func (b *Batcher) dropFront(n int) {
	if n == len(b.rows) {
		// Keep every element (and its own prop slices) for reuse.
		b.rows, b.starts = b.rows[:0], b.starts[:0]
		b.sess, b.sessEnd = b.sess[:0], b.sessEnd[:0]
		return
	}
	if n > 0 {
		k := b.sessEnd[n-1]
		b.sess = b.sess[:copy(b.sess, b.sess[k:])]
		b.sessEnd = b.sessEnd[:copy(b.sessEnd, b.sessEnd[n:])]
		for i := range b.sessEnd {
			b.sessEnd[i] -= k
		}
	}
	k := copy(b.rows, b.rows[n:])
	clear(b.rows[k:])
	b.rows = b.rows[:k]
	k = copy(b.starts, b.starts[n:])
	b.starts = b.starts[:k]
}
