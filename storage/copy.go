package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/mote-analytics/mote"
)

// CopySource is a data set to move: an engine that can hand back the
// events of one batch exactly (the embedded engine reads them in
// RowBinary) and answer SQL.
type CopySource interface {
	SQL
	ReadEvents(ctx context.Context, batchID uint64) ([]mote.Event, error)
}

// CopyDest is where a data set moves to: a migrated engine.
type CopyDest interface {
	Engine
	SQL
}

// CopyProgress is reported after every unit of work.
type CopyProgress struct {
	Table       string // events, sessions, suppressed, campaigns
	Done, Total int    // units (batches for events, days for sessions)
	Rows        uint64 // rows copied so far in Table
	Skipped     int    // units found already complete at the destination
}

// CopyReport is what Copy did and what it verified.
type CopyReport struct {
	Events, Sessions, Suppressed, Campaigns uint64 // rows copied this run
	EventBatchesSkipped, SessionDaysSkipped int    // already at the destination
}

// Copy moves everything src holds into dst, resumably: work already at
// the destination is recognised and skipped, so an interrupted copy is
// simply run again. Salts are not copied (they live in RAM only, and a
// new one is minted on the new storage).
//
//   - events batch by batch: a batch has the same id on both sides and is
//     inserted with its dedup token in one block, so it is either there in
//     full (skipped) or not at all (copied); a partial batch is an error.
//   - sessions day by day (by start_ts): a day already holding the
//     source's row count is skipped, an empty one copied, anything else is
//     an error, since sessions rows carry no id to deduplicate by.
//   - suppressed counters: only the difference per (site, day, reason) is
//     inserted, so a repeated copy adds nothing.
//   - campaigns: every version is inserted; the table keeps the latest
//     per campaign, so repeats are harmless.
//
// At the end the totals of both sides are compared; any difference is an
// error that names the table.
func Copy(ctx context.Context, src CopySource, dst CopyDest, progress func(CopyProgress)) (CopyReport, error) {
	if progress == nil {
		progress = func(CopyProgress) {}
	}
	var rep CopyReport
	if err := copyEvents(ctx, src, dst, progress, &rep); err != nil {
		return rep, err
	}
	if err := copySessions(ctx, src, dst, progress, &rep); err != nil {
		return rep, err
	}
	if err := copySuppressed(ctx, src, dst, progress, &rep); err != nil {
		return rep, err
	}
	if err := copyCampaigns(ctx, src, dst, progress, &rep); err != nil {
		return rep, err
	}
	// Summaries are not copied: the destination builds its own from the
	// rows now there (its Summarizer, once it serves).
	if err := MarkStoredDays(ctx, dst); err != nil {
		return rep, fmt.Errorf("copy: %w", err)
	}
	return rep, verifyCopy(ctx, src, dst)
}

func copyEvents(ctx context.Context, src CopySource, dst CopyDest, progress func(CopyProgress), rep *CopyReport) error {
	rows, err := src.QuerySQL(ctx, "SELECT batch_id, count() FROM events GROUP BY batch_id ORDER BY batch_id")
	if err != nil {
		return fmt.Errorf("copy events: list batches: %w", err)
	}
	p := CopyProgress{Table: "events", Total: len(rows.Values)}
	for i := range rows.Values {
		var id, n uint64
		if err := rows.Scan(i, &id, &n); err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		have, err := dst.BatchRows(ctx, id)
		if err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		switch {
		case have == n:
			p.Skipped++
			rep.EventBatchesSkipped++
		case have != 0:
			return fmt.Errorf("copy events: batch %d has %d rows at the destination and %d here; remove it there (ALTER TABLE events DELETE WHERE batch_id = %d) and copy again", id, have, n, id)
		default:
			events, err := src.ReadEvents(ctx, id)
			if err != nil {
				return fmt.Errorf("copy events: %w", err)
			}
			if err := dst.InsertEvents(ctx, id, events); err != nil {
				return fmt.Errorf("copy events: %w", err)
			}
			rep.Events += uint64(len(events))
			p.Rows += uint64(len(events))
		}
		p.Done++
		progress(p)
	}
	return nil
}

func copySessions(ctx context.Context, src CopySource, dst CopyDest, progress func(CopyProgress), rep *CopyReport) error {
	const perDay = "SELECT toString(toDate(start_ts)), count() FROM sessions GROUP BY toDate(start_ts) ORDER BY toDate(start_ts)"
	days, err := src.QuerySQL(ctx, perDay)
	if err != nil {
		return fmt.Errorf("copy sessions: list days: %w", err)
	}
	there, err := dst.QuerySQL(ctx, perDay)
	if err != nil {
		return fmt.Errorf("copy sessions: list days at the destination: %w", err)
	}
	have := make(map[string]uint64, len(there.Values))
	for i := range there.Values {
		var day string
		var n uint64
		if err := there.Scan(i, &day, &n); err != nil {
			return fmt.Errorf("copy sessions: %w", err)
		}
		have[day] = n
	}
	p := CopyProgress{Table: "sessions", Total: len(days.Values)}
	for i := range days.Values {
		var day string
		var n uint64
		if err := days.Scan(i, &day, &n); err != nil {
			return fmt.Errorf("copy sessions: %w", err)
		}
		switch have[day] {
		case n:
			p.Skipped++
			rep.SessionDaysSkipped++
		case 0:
			got, err := src.QuerySQL(ctx, "SELECT "+SessionColumns+" FROM sessions WHERE toDate(start_ts) = toDate("+Quote(day)+")")
			if err != nil {
				return fmt.Errorf("copy sessions of %s: %w", day, err)
			}
			rows, err := scanSessionRows(got)
			if err == nil {
				err = InsertSessionRows(ctx, dst, rows)
			}
			if err != nil {
				return fmt.Errorf("copy sessions of %s: %w", day, err)
			}
			rep.Sessions += uint64(len(got.Values))
			p.Rows += uint64(len(got.Values))
		default:
			return fmt.Errorf("copy sessions: %s has %d rows at the destination and %d here; remove that day there and copy again", day, have[day], n)
		}
		p.Done++
		progress(p)
	}
	return nil
}

// scanSessionRows reads a SELECT of SessionColumns into rows.
func scanSessionRows(rows *Rows) ([]mote.SessionRow, error) {
	out := make([]mote.SessionRow, len(rows.Values))
	for i := range out {
		r := &out[i]
		err := rows.Scan(i, &r.SiteID, &r.SessionID, &r.VisitorID, &r.StartTS, &r.EndTS, &r.Hostname, &r.EntryPage, &r.ExitPage,
			&r.Pageviews, &r.Events, &r.DurationS, &r.Bounce, &r.ReferrerHost, &r.ReferrerSource, &r.Channel,
			&r.UTMSource, &r.UTMMedium, &r.UTMCampaign, &r.UTMTerm, &r.UTMContent, &r.Country, &r.Region, &r.City,
			&r.Browser, &r.OS, &r.Device, &r.Screen, &r.Sign, &r.Version, &r.BatchID, &r.SpoolID)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func copySuppressed(ctx context.Context, src CopySource, dst CopyDest, progress func(CopyProgress), rep *CopyReport) error {
	const q = "SELECT site_id, toString(day), reason, sum(count) FROM suppressed GROUP BY site_id, day, reason"
	type key struct{ site, day, reason string }
	read := func(db SQL) (map[key]uint64, error) {
		rows, err := db.QuerySQL(ctx, q)
		if err != nil {
			return nil, err
		}
		m := make(map[key]uint64, len(rows.Values))
		for i := range rows.Values {
			var k key
			var n uint64
			if err := rows.Scan(i, &k.site, &k.day, &k.reason, &n); err != nil {
				return nil, err
			}
			m[k] = n
		}
		return m, nil
	}
	want, err := read(src)
	if err != nil {
		return fmt.Errorf("copy suppressed: %w", err)
	}
	have, err := read(dst)
	if err != nil {
		return fmt.Errorf("copy suppressed at the destination: %w", err)
	}
	var rows [][]any
	for k, n := range want {
		if n > have[k] {
			day, err := time.Parse(time.DateOnly, k.day)
			if err != nil {
				return fmt.Errorf("copy suppressed: day %q: %w", k.day, err)
			}
			rows = append(rows, []any{k.site, day, k.reason, n - have[k]})
		}
	}
	if len(rows) > 0 {
		if err := dst.InsertRowsSQL(ctx, insertSuppressed, rows); err != nil {
			return fmt.Errorf("copy suppressed: %w", err)
		}
	}
	rep.Suppressed = uint64(len(rows))
	progress(CopyProgress{Table: "suppressed", Done: 1, Total: 1, Rows: rep.Suppressed})
	return nil
}

func copyCampaigns(ctx context.Context, src CopySource, dst CopyDest, progress func(CopyProgress), rep *CopyReport) error {
	const cols = "site_id, campaign_id, name, created, window_end, sends, recipient_key, link_key, updated"
	rows, err := src.QuerySQL(ctx, "SELECT "+cols+" FROM campaigns")
	if err != nil {
		return fmt.Errorf("copy campaigns: %w", err)
	}
	if len(rows.Values) > 0 {
		if err := dst.InsertRowsSQL(ctx, "INSERT INTO campaigns ("+cols+")", rows.Values); err != nil {
			return fmt.Errorf("copy campaigns: %w", err)
		}
	}
	rep.Campaigns = uint64(len(rows.Values))
	progress(CopyProgress{Table: "campaigns", Done: 1, Total: 1, Rows: rep.Campaigns})
	return nil
}

// verifyCopy compares totals that must be equal after a complete copy.
func verifyCopy(ctx context.Context, src, dst SQL) error {
	for _, c := range []struct{ table, query string }{
		{"events", "SELECT count(), uniqExact(batch_id) FROM events"},
		{"sessions", "SELECT count(), sum(sign) FROM sessions"},
		{"suppressed", "SELECT uniqExact(site_id, day, reason), sum(count) FROM suppressed"},
		{"campaigns", "SELECT uniqExact(campaign_id), toUInt32(max(updated)) FROM campaigns"},
	} {
		var a1, a2, b1, b2 int64
		if err := QueryRow(ctx, src, c.query, &a1, &a2); err != nil {
			return fmt.Errorf("verify %s: %w", c.table, err)
		}
		if err := QueryRow(ctx, dst, c.query, &b1, &b2); err != nil {
			return fmt.Errorf("verify %s at the destination: %w", c.table, err)
		}
		if a1 != b1 || a2 != b2 {
			return fmt.Errorf("verify %s: source has %d/%d, destination %d/%d (%s)", c.table, a1, a2, b1, b2, c.query)
		}
	}
	return nil
}
