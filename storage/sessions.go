package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/spool"
)

// Session rows are as durable as the hits they derive from: the collector
// spools each hit's session update (the cancel of the visit's previous
// state and its new state) in the hit's own record, the Batcher inserts
// them with the batch's events under the batch's id (see Batcher), and a
// collector that starts again rebuilds its session cache from what is
// stored (ActiveSessions) and what the spool still holds (SpoolSessions).
// There is no separate buffer of session rows, so nothing to overflow or
// drop: an outage costs spool space, as it does for hits.

// SessionColumns are the sessions table's columns in the order every
// sessions insert sends them.
const SessionColumns = "site_id, session_id, visitor_id, start_ts, end_ts, hostname, entry_page, exit_page, " +
	"pageviews, events, duration_s, bounce, referrer_host, referrer_source, channel, utm_source, utm_medium, utm_campaign, " +
	"utm_term, utm_content, country, region, city, browser, os, device, screen, sign, version, batch_id, spool_id"

const insertSessions = "INSERT INTO sessions (" + SessionColumns + ")"

// sessionRowValues are rows as InsertRowsSQL values, in the column order
// of SessionColumns.
func sessionRowValues(rows []mote.SessionRow) [][]any {
	out := make([][]any, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = []any{r.SiteID, r.SessionID, r.VisitorID, r.StartTS, r.EndTS, r.Hostname, r.EntryPage, r.ExitPage,
			r.Pageviews, r.Events, r.DurationS, r.Bounce, r.ReferrerHost, r.ReferrerSource, r.Channel,
			r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.Country, r.Region, r.City,
			r.Browser, r.OS, r.Device, r.Screen, r.Sign, r.Version, r.BatchID, r.SpoolID}
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

// sessionMonth is the partition of a sessions row (toYYYYMM(start_ts)).
// Both rows of an update share start_ts, hence the partition.
func sessionMonth(r *mote.SessionRow) uint32 {
	y, m, _ := r.StartTS.UTC().Date()
	return uint32(y*100 + int(m))
}

// visitState names one stored state of a visit: a +1 row's session_id
// and version, unique because every update bumps the version.
type visitState struct {
	session uint64
	version uint32
}

// storedStates returns the visit states (+1 rows) stored under batchID.
//
// Counting a batch's rows would not say how much of it is stored: the
// table folds a state with its cancel on merge, and the cancel may come
// from a later batch, so rows of a stored batch disappear while the
// Batcher waits to retry (ClickHouse merges small parts within seconds).
// The last state of a stored prefix cannot have been folded, though: its
// cancel would be in a later record, which is not stored yet (see
// storedPrefix).
func storedStates(ctx context.Context, db SQL, batchID uint64) (map[visitState]struct{}, error) {
	rows, err := db.QuerySQL(ctx, "SELECT session_id, version FROM sessions WHERE sign = 1 AND batch_id = "+
		strconv.FormatUint(batchID, 10))
	if err != nil {
		return nil, fmt.Errorf("read sessions states of batch %d: %w", batchID, err)
	}
	out := make(map[visitState]struct{}, len(rows.Values))
	for i := range rows.Values {
		var k visitState
		if err := rows.Scan(i, &k.session, &k.version); err != nil {
			return nil, fmt.Errorf("read sessions states of batch %d: %w", batchID, err)
		}
		out[k] = struct{}{}
	}
	return out, nil
}

// storedPrefix returns how many leading rows of part (one partition's rows
// of a batch, in record order) an earlier attempt stored: an insert is
// atomic, so what it stored is a prefix, and every record's rows end with
// its state (the cancel of the previous state comes first). The prefix
// therefore ends at the last state found in stored. States before it may
// have been folded away by their cancels; the last one cannot, since its
// cancel would belong to a later record of the same visit, in the same
// partition, and so beyond the prefix.
func storedPrefix(part []mote.SessionRow, stored map[visitState]struct{}) int {
	for i := len(part) - 1; i >= 0; i-- {
		if part[i].Sign != 1 {
			continue
		}
		if _, ok := stored[visitState{part[i].SessionID, part[i].Version}]; ok {
			return i + 1
		}
	}
	return 0
}

// DefaultRebuildChunks is how many queries ActiveSessions splits its read
// into (by visitor_id modulo), so that the result held in memory at once
// is a sixteenth of the visits (boxed values cost about 1 KB a visit).
const DefaultRebuildChunks = 16

// activeSessionCols are the columns ActiveSessions reads, in the order of
// SessionColumns without sign and the ids.
const activeSessionCols = "site_id, session_id, visitor_id, start_ts, end_ts, hostname, entry_page, exit_page, pageviews, " +
	"events, duration_s, bounce, referrer_host, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, " +
	"utm_content, country, region, city, browser, os, device, screen, version"

// ActiveSessions calls fn with the latest state of every visit of spool
// spoolID (one collector's: see mote.SessionRow.SpoolID) whose last hit is
// at or after since (the collector passes now - idle): what a restarted
// collector must know to continue those visits. fn's row is reused
// between calls.
//
// The fold needs no FINAL and no aggregation: every update spools the
// cancel of version v in the same record as the state of version v+1, so
// a visit's latest state is its one +1 row whose version no -1 row
// cancels, whether or not ClickHouse has merged the pairs yet (a cancel
// repeats its state's end_ts, so both pass the time filter together).
// Should a visit ever show two such rows, the caller keeps the higher
// version (enrich.Sessions.Restore does). The read is split into chunks
// by visitor_id so that the rows held in memory at once stay bounded at a
// million visits.
func ActiveSessions(ctx context.Context, db SQL, spoolID uint64, since time.Time, chunks int, fn func(*mote.SessionRow)) error {
	if chunks <= 0 {
		chunks = DefaultRebuildChunks
	}
	for k := range chunks {
		where := fmt.Sprintf("spool_id = %d AND end_ts >= toDateTime(%d) AND visitor_id %% %d = %d", spoolID, since.Unix(), chunks, k)
		q := "SELECT " + activeSessionCols + " FROM sessions WHERE sign = 1 AND " + where +
			" AND (session_id, version) NOT IN (SELECT session_id, version FROM sessions WHERE sign = -1 AND " + where + ")"
		if err := scanSessions(ctx, db, q, fn); err != nil {
			return fmt.Errorf("read active sessions: %w", err)
		}
	}
	return nil
}

// scanSessions runs query (a SELECT of activeSessionCols) and calls fn
// with each row (Sign +1), through db's SessionScanner when it has one.
func scanSessions(ctx context.Context, db SQL, query string, fn func(*mote.SessionRow)) error {
	if sc, ok := db.(SessionScanner); ok {
		return sc.ScanSessions(ctx, query, fn)
	}
	rows, err := db.QuerySQL(ctx, query)
	if err != nil {
		return err
	}
	var r mote.SessionRow
	for i := range rows.Values {
		err := rows.Scan(i, &r.SiteID, &r.SessionID, &r.VisitorID, &r.StartTS, &r.EndTS, &r.Hostname, &r.EntryPage,
			&r.ExitPage, &r.Pageviews, &r.Events, &r.DurationS, &r.Bounce, &r.ReferrerHost, &r.ReferrerSource,
			&r.Channel, &r.UTMSource, &r.UTMMedium, &r.UTMCampaign, &r.UTMTerm, &r.UTMContent, &r.Country,
			&r.Region, &r.City, &r.Browser, &r.OS, &r.Device, &r.Screen, &r.Version)
		if err != nil {
			return err
		}
		r.Sign = 1
		fn(&r)
	}
	return nil
}

// SpoolSessions calls fn with every session state row (sign +1) in the
// spool from its checkpoint to its durable end: the updates storage may
// not have yet. fn's row is valid only during the call. It returns the
// number of records read.
func SpoolSessions(sp *spool.Spool, fn func(*mote.SessionRow)) (int, error) {
	r, err := sp.NewReader(sp.Checkpoint())
	if err != nil {
		return 0, fmt.Errorf("read spooled sessions: %w", err)
	}
	defer r.Close()
	var ev mote.Event
	var rows []mote.SessionRow
	n := 0
	for {
		pos, rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("read spooled sessions: %w", err)
		}
		n++
		if rows, err = spool.DecodeRecord(rec, &ev, rows[:0]); err != nil {
			return n, fmt.Errorf("read spooled sessions: record at %v: %w", pos, err)
		}
		for i := range rows {
			if rows[i].Sign > 0 {
				fn(&rows[i])
			}
		}
	}
}
