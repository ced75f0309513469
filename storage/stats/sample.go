package stats

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mote-analytics/mote/storage"
)

// Sampling. A card with filters cannot be read from the day summaries (a
// filter crosses dimensions), so it reads raw rows, and over a large
// period those are too many to answer in a second: at 100M events in 30
// days a filtered card took 0.9-3.3 s on 2 cores (bench/BENCHMARKS.md).
// Above DefaultSampleAbove stored rows in the period, such a card reads
// the rows of 1 in N visitors instead and scales its counts up by N, as
// Plausible does above 20M rows; the answer says so (Metrics.SampleOneIn,
// and the API and dashboard show it). Query.Exact turns it off.
//
// The sample is a range of visitor ids: they are keyed hashes, uniform
// over 64 bits, and both raw tables are ordered by (site, day, visitor
// id, ...), so "visitor_id < 2^64/N" keeps every hit and visit of 1 in N
// visitor-days and lets the server skip the other granules of each day,
// on every server version (no SAMPLE BY clause needed). Ratios (bounce
// rate, views per visit, time on page, conversion rate) are the sample's;
// counts are estimates whose relative error shrinks with the rows they
// count. Unfiltered cards and realtime are never sampled, and a filtered
// card of today is only on a site of more than 10M stored rows a day.

// DefaultSampleAbove is the threshold of Query.SampleAbove: the stored rows
// (daily_stats_slots' count n of events and visit updates) in the period
// above which a filtered card reads a sample. About 10M rows is what a
// filtered card reads in under a second on 2 cores.
const DefaultSampleAbove = 10_000_000

// maxSampleOneIn bounds the sample's thinness: below 1 in 1000 visitors
// the counts would say little.
const maxSampleOneIn = 1000

// chooseSample sets p.sample from the stored rows of p's period: 1 in
// ceil(rows / threshold) visitors, or 0 (exact) when the query has no
// filter, asks for exact counts, or the period holds at most the
// threshold.
func (p *plan) chooseSample(ctx context.Context, db storage.SQL) error {
	if p.q.Exact || len(p.q.Filters) == 0 {
		return nil
	}
	above := p.q.SampleAbove
	if above == 0 {
		above = DefaultSampleAbove
	}
	var rows uint64
	q := "SELECT sum(n) FROM daily_stats_slots WHERE site_id = " + storage.Quote(p.q.SiteID) +
		" AND slot >= " + timeLit(p.q.From.Truncate(storage.ChangeSlot)) + " AND slot < " + timeLit(p.q.To)
	if err := storage.QueryRow(ctx, db, q, &rows); err != nil {
		return fmt.Errorf("stats query: rows of the period: %w", err)
	}
	if rows > above {
		p.sample = min((rows+above-1)/above, maxSampleOneIn)
	}
	return nil
}

// sampled is the condition that keeps p's sample of visitors (with a
// leading AND), or "" when p reads every row.
func (p plan) sampled() string {
	if p.sample <= 1 {
		return ""
	}
	return " AND visitor_id < " + strconv.FormatUint(math.MaxUint64/p.sample, 10)
}

// dayCounters are the counters of every dayCols row, in order.
var dayCounters = []string{"vis", "pv", "ev", "eng", "engms", "scroll", "visits", "bounces", "dur", "spv", "sev"}

// sums adds up dayCols over days (the select list of a grouping by k or
// d), with vis as the alias by which breakdowns order; scaled up to the
// whole when p reads a sample.
func (p plan) sums() string {
	parts := make([]string, len(dayCounters))
	for i, c := range dayCounters {
		parts[i] = "sum(" + c + ")" + p.scale()
	}
	parts[0] += " AS vis"
	return strings.Join(parts, ", ")
}

// scale is what scales a count of p's rows up to the whole: " * N" for
// a sample of 1 in N visitors, else nothing.
func (p plan) scale() string {
	if p.sample <= 1 {
		return ""
	}
	return " * " + strconv.FormatUint(p.sample, 10)
}

// sampleOneIn is what a card's answer reports of its sample: 0 when its
// counts are exact, N when they are estimated from 1 in N visitors.
func (p plan) sampleOneIn() uint64 {
	if p.sample <= 1 {
		return 0
	}
	return p.sample
}
