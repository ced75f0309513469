package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mote-analytics/mote"
)

// Defaults of SessionWriterConfig.
const (
	DefaultSessionFlush    = time.Second
	DefaultSessionMaxBytes = 16 << 20
)

// SessionWriterConfig configures a SessionWriter; the zero value flushes
// every second and holds at most 16 MiB of unwritten rows.
type SessionWriterConfig struct {
	// Flush is how often pending rows are inserted.
	Flush time.Duration
	// MaxBytes caps the rows waiting for storage (while it is down). Past
	// it new rows are dropped and counted: sessions are a view derived
	// from the hits, which the spool keeps; losing a session update costs
	// accuracy in visit metrics, never a hit.
	MaxBytes int
	// Logger receives insert failures (without row contents).
	Logger *slog.Logger
}

// SessionWriter batches sessions rows (the cancel and state pairs of the
// collector's session cache) into the sessions table. Append runs on the
// hit path: it encodes each row into a byte buffer under one short lock
// and, after warm-up, allocates nothing. Run decodes the buffer every
// Flush, leaves out the pairs that cancel each other within it
// (collapsePairs) and inserts the rest as one block (InsertSessionRows).
type SessionWriter struct {
	db  SQL
	cfg SessionWriterConfig

	mu      sync.Mutex
	pending []byte // encoded rows (appendSessionRow)
	rows    int
	spare   []byte

	flushMu sync.Mutex             // one Flush at a time; guards decoded and states
	decoded []mote.SessionRow      // the decoded rows' slice, reused
	states  map[sessionVersion]int // reused by collapsePairs

	written, dropped, failures, collapsed atomic.Uint64
}

// SessionWriterCounters counts what the writer did.
type SessionWriterCounters struct {
	Written   uint64 // rows inserted
	Dropped   uint64 // rows dropped because MaxBytes was reached
	Failures  uint64 // inserts that failed (their rows stay pending)
	Collapsed uint64 // rows left out because their pair was in the same flush (collapsePairs)
	Pending   int    // rows waiting
}

// NewSessionWriter returns a writer inserting into db's sessions table.
func NewSessionWriter(db SQL, cfg SessionWriterConfig) *SessionWriter {
	if cfg.Flush <= 0 {
		cfg.Flush = DefaultSessionFlush
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultSessionMaxBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &SessionWriter{db: db, cfg: cfg}
}

// SessionColumns are the sessions table's columns in the order every
// sessions insert sends them.
const SessionColumns = "site_id, session_id, visitor_id, start_ts, end_ts, hostname, entry_page, exit_page, " +
	"pageviews, events, duration_s, bounce, referrer_host, referrer_source, channel, utm_source, utm_medium, utm_campaign, " +
	"utm_term, utm_content, country, region, city, browser, os, device, screen, sign, version"

const insertSessions = "INSERT INTO sessions (" + SessionColumns + ")"

// Append queues rows. Their strings are copied before Append returns.
func (w *SessionWriter) Append(rows ...*mote.SessionRow) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > w.cfg.MaxBytes {
		w.dropped.Add(uint64(len(rows)))
		return
	}
	for _, r := range rows {
		w.pending = appendSessionRow(w.pending, r)
		w.rows++
	}
}

// A row is encoded as its strings (uvarint length, bytes) in strs order,
// then its numbers as uvarints in nums order, then the sign byte.
func appendSessionRow(b []byte, r *mote.SessionRow) []byte {
	for _, s := range [...]string{r.SiteID, r.Hostname, r.EntryPage, r.ExitPage, r.ReferrerHost, r.ReferrerSource,
		r.Channel, r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.Country, r.Region, r.City,
		r.Browser, r.OS, r.Device, r.Screen} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, n := range [...]uint64{r.SessionID, r.VisitorID, uint64(r.StartTS.Unix()), uint64(r.EndTS.Unix()),
		uint64(r.Pageviews), uint64(r.Events), uint64(r.DurationS), uint64(r.Bounce), uint64(r.Version)} {
		b = binary.AppendUvarint(b, n)
	}
	return append(b, byte(r.Sign))
}

// decodeSessionRows turns an Append buffer back into rows, appended to
// rows[:0]. The rows' strings share one copy of the buffer: a string per
// field was two allocations per hit's worth of fields, most of the
// collector's garbage.
func decodeSessionRows(rows []mote.SessionRow, b []byte, n int) ([]mote.SessionRow, error) {
	rows = slices.Grow(rows[:0], n)
	all := string(b)
	off := 0 // of b in all
	var strs [19]string
	var nums [9]uint64
	for len(b) > 0 {
		for i := range strs {
			l, k := binary.Uvarint(b)
			if k <= 0 || uint64(len(b)-k) < l {
				return nil, errors.New("corrupt sessions buffer")
			}
			strs[i] = all[off+k : off+k+int(l)]
			b = b[k+int(l):]
			off += k + int(l)
		}
		for i := range nums {
			v, k := binary.Uvarint(b)
			if k <= 0 {
				return nil, errors.New("corrupt sessions buffer")
			}
			nums[i] = v
			b = b[k:]
			off += k
		}
		if len(b) == 0 {
			return nil, errors.New("corrupt sessions buffer")
		}
		sign := int8(b[0])
		b = b[1:]
		off++
		rows = append(rows, mote.SessionRow{
			SiteID: strs[0], Hostname: strs[1], EntryPage: strs[2], ExitPage: strs[3], ReferrerHost: strs[4],
			ReferrerSource: strs[5], Channel: strs[6], UTMSource: strs[7], UTMMedium: strs[8], UTMCampaign: strs[9],
			UTMTerm: strs[10], UTMContent: strs[11], Country: strs[12], Region: strs[13], City: strs[14],
			Browser: strs[15], OS: strs[16], Device: strs[17], Screen: strs[18],
			SessionID: nums[0], VisitorID: nums[1],
			StartTS: time.Unix(int64(nums[2]), 0).UTC(), EndTS: time.Unix(int64(nums[3]), 0).UTC(),
			Pageviews: uint32(nums[4]), Events: uint32(nums[5]), DurationS: uint32(nums[6]), Bounce: uint8(nums[7]),
			Version: uint32(nums[8]), Sign: sign,
		})
	}
	return rows, nil
}

// sessionRowValues are rows as InsertRowsSQL values, in the column order
// of SessionColumns.
func sessionRowValues(rows []mote.SessionRow) [][]any {
	out := make([][]any, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = []any{r.SiteID, r.SessionID, r.VisitorID, r.StartTS, r.EndTS, r.Hostname, r.EntryPage, r.ExitPage,
			r.Pageviews, r.Events, r.DurationS, r.Bounce, r.ReferrerHost, r.ReferrerSource, r.Channel,
			r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.Country, r.Region, r.City,
			r.Browser, r.OS, r.Device, r.Screen, r.Sign, r.Version}
	}
	return out
}

// InsertSessionRows writes sessions rows through db's fast path
// (SessionInserter) when it has one, else as InsertRowsSQL values.
func InsertSessionRows(ctx context.Context, db SQL, rows []mote.SessionRow) error {
	if ins, ok := db.(SessionInserter); ok {
		return ins.InsertSessions(ctx, rows)
	}
	return db.InsertRowsSQL(ctx, insertSessions, sessionRowValues(rows))
}

// Flush inserts every pending row. On failure the rows stay pending, in
// front of those that arrived meanwhile, for the next Flush.
func (w *SessionWriter) Flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	buf, n := w.pending, w.rows
	if n == 0 {
		w.mu.Unlock()
		return nil
	}
	w.pending, w.rows = w.spare[:0], 0
	w.mu.Unlock()

	rows, err := decodeSessionRows(w.decoded, buf, n)
	if err == nil {
		rows = w.collapsePairs(rows)
		err = InsertSessionRows(ctx, w.db, rows)
		// Keep the slice, not the strings: they hold a copy of buf.
		clear(rows[:cap(rows)])
		w.decoded = rows[:0]
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.failures.Add(1)
		w.pending, w.rows = append(buf, w.pending...), n+w.rows
		return fmt.Errorf("insert %d sessions rows: %w", n, err)
	}
	w.written.Add(uint64(len(rows)))
	w.collapsed.Add(uint64(n - len(rows)))
	w.spare = buf[:0]
	return nil
}

// sessionVersion identifies one version of a visit.
type sessionVersion struct {
	site             string
	session, visitor uint64
	version          uint32
}

// collapsePairs leaves out each state row whose cancel row is in the same
// flush, and that cancel row: VersionedCollapsingMergeTree folds such a
// pair away at its next merge and every query sums signs, so the table
// reads the same without them. A visit updated k times within one flush
// then costs two rows (the cancel of the state stored earlier and the
// newest state) instead of 2k: a page view and its engagement beacon a
// moment later, or a burst of custom events, write one state. A cancel row
// is paired only with a state row equal to it in every column but the
// sign. The order of the rows kept is unchanged.
func (w *SessionWriter) collapsePairs(rows []mote.SessionRow) []mote.SessionRow {
	if w.states == nil {
		w.states = make(map[sessionVersion]int)
	}
	defer clear(w.states)
	dropped := 0
	for i := range rows {
		r := &rows[i]
		k := sessionVersion{r.SiteID, r.SessionID, r.VisitorID, r.Version}
		switch r.Sign {
		case 1:
			w.states[k] = i
		case -1:
			j, ok := w.states[k]
			if !ok {
				continue
			}
			state := rows[j]
			state.Sign = -1
			if state == *r {
				rows[i].Sign, rows[j].Sign = 0, 0 // left out below
				dropped += 2
				delete(w.states, k)
			}
		}
	}
	if dropped == 0 {
		return rows
	}
	return slices.DeleteFunc(rows, func(r mote.SessionRow) bool { return r.Sign == 0 })
}

// Run flushes every Flush until ctx ends, then once more.
//
// A flush never runs under ctx: cancelling an insert the server may
// already have committed would put its rows back for the next flush and
// store them twice (sessions rows carry no id to deduplicate by). Each
// flush has a deadline of its own instead.
func (w *SessionWriter) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Flush)
	defer t.Stop()
	flush := func() error {
		fctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		return w.Flush(fctx)
	}
	var warned time.Time // a storage outage is logged once a minute
	var drops dropReport
	for {
		select {
		case <-ctx.Done():
			if err := flush(); err != nil {
				w.cfg.Logger.Warn("storage: sessions rows not written at shutdown", "err", err)
			}
			drops.warn(w, time.Time{})
			return
		case <-t.C:
			if err := flush(); err != nil && time.Since(warned) > time.Minute {
				warned = time.Now()
				w.cfg.Logger.Warn("storage: sessions insert failed; retrying", "err", err)
			}
			drops.warn(w, time.Now().Add(-time.Minute))
		}
	}
}

// dropReport logs the rows dropped since its last warning, at most once a
// minute: a dropped visit row is never silent (it is also counted in
// Counters.Dropped, which /metrics and /readyz show).
type dropReport struct {
	reported uint64
	at       time.Time
}

// warn logs new drops unless the last warning was after notBefore.
func (d *dropReport) warn(w *SessionWriter, notBefore time.Time) {
	total := w.dropped.Load()
	if total == d.reported || d.at.After(notBefore) {
		return
	}
	w.cfg.Logger.Warn("storage: sessions rows dropped: the writer's buffer is full while storage is unreachable; visit metrics will undercount",
		"dropped", total-d.reported, "dropped_total", total, "max_bytes", w.cfg.MaxBytes)
	d.reported, d.at = total, time.Now()
}

// flushTimeout bounds one sessions insert.
const flushTimeout = 10 * time.Second

// Counters returns the writer's counters.
func (w *SessionWriter) Counters() SessionWriterCounters {
	w.mu.Lock()
	pending := w.rows
	w.mu.Unlock()
	return SessionWriterCounters{Written: w.written.Load(), Dropped: w.dropped.Load(), Failures: w.failures.Load(),
		Collapsed: w.collapsed.Load(), Pending: pending}
}
