package stats

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/mote-analytics/mote/storage"
)

// MaxBreakdownLimit caps Breakdown's Limit.
const MaxBreakdownLimit = 1000

// Breakdown returns the top values of q.Dimension by visitors (ties by
// value), at most q.Limit rows.
//
// What a row counts depends on where the dimension lives: a page row
// counts pageviews of that page (and engagement on it), an event or prop
// row counts custom events and carries the conversion rate against all
// visitors of the period. Every dimension that sessions hold (source,
// channel, UTM, entry and exit page, hostname, geo and device) counts
// visits, as Plausible's visit properties do: a visit counts under the
// value of its first hit, with its visitor, pageviews and custom events.
// Reading the sessions table alone is what keeps these breakdowns fast: a
// visit is one row where its hits are many (10M events: country 285-310
// ms from events and sessions, 72-78 ms from sessions; bench/BENCHMARKS.md).
//
// k-anonymity: with q.KAnonymity > 0, city and region rows with fewer
// visitors are added up into one Other row, after the top rows and only if
// the limit leaves room; if that row itself stays under the threshold it
// is dropped too, so no row under k is ever shown.
func Breakdown(ctx context.Context, db storage.SQL, q Query) ([]BreakdownRow, error) {
	p, err := q.plan()
	if err != nil {
		return nil, err
	}
	d, err := lookupDimension(q.Dimension)
	if err != nil {
		return nil, fmt.Errorf("breakdown: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	if limit > MaxBreakdownLimit {
		return nil, fmt.Errorf("breakdown: limit %d over %d", limit, MaxBreakdownLimit)
	}
	fold := q.KAnonymity > 0 && (q.Dimension == "city" || q.Dimension == "region")
	tail := "LIMIT " + strconv.Itoa(limit)
	if fold {
		tail = "" // fold every small row, then cut
	}
	if err := p.chooseSample(ctx, db); err != nil {
		return nil, fmt.Errorf("breakdown by %s: %w", q.Dimension, err)
	}
	src, err := p.source(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("breakdown by %s: %w", q.Dimension, err)
	}
	rows, err := p.byKey(ctx, db, src, q.Dimension, tail)
	if err != nil {
		return nil, fmt.Errorf("breakdown by %s: %w", q.Dimension, err)
	}
	if d.session == "" && isGoal(q.Dimension) {
		base, err := p.baseVisitors(ctx, db, src)
		if err != nil {
			return nil, fmt.Errorf("breakdown by %s: %w", q.Dimension, err)
		}
		for i := range rows {
			rows[i].BaseVisitors = base
		}
	}
	out := make([]BreakdownRow, 0, len(rows))
	for _, r := range rows {
		r.SampleOneIn = p.sampleOneIn()
		out = append(out, BreakdownRow{Value: r.key, Metrics: r.Metrics})
	}
	if fold {
		// A sampled row of N x visitors stands for x visitors seen: k
		// applies to those.
		out = foldSmall(out, uint64(q.KAnonymity)*max(p.sample, 1), limit)
	}
	return out, nil
}

// foldSmall adds the rows under k visitors into one Other row, sorts the
// rest by visitors and keeps at most limit rows, Other included (last).
func foldSmall(rows []BreakdownRow, k uint64, limit int) []BreakdownRow {
	var kept []BreakdownRow
	other := BreakdownRow{Value: Other}
	for _, r := range rows {
		if r.Visitors >= k {
			kept = append(kept, r)
		} else {
			other.Add(r.Metrics)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if kept[i].Visitors != kept[j].Visitors {
			return kept[i].Visitors > kept[j].Visitors
		}
		return kept[i].Value < kept[j].Value
	})
	if len(kept) > limit {
		kept = kept[:limit]
	}
	if other.Visitors >= k && len(kept) < limit {
		kept = append(kept, other)
	}
	return kept
}
