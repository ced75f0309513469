package stats

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// Interval is the bucket size of a time series.
type Interval string

const (
	IntervalHour  Interval = "hour"
	IntervalDay   Interval = "day"
	IntervalWeek  Interval = "week"
	IntervalMonth Interval = "month"
)

// Query selects what a read of this package covers.
type Query struct {
	SiteID string
	// From and To bound the period, half open: From <= ts < To. Callers
	// compute them in the site's time zone (see dashboards' periods).
	From, To time.Time
	// Timezone is the IANA zone of the site; time-series buckets start
	// at its midnights, hours, Mondays and first days of the month.
	// "" means UTC.
	Timezone string
	// Interval is the bucket size of Timeseries.
	Interval Interval
	// Filters all apply (AND).
	Filters []Filter
	// Dimension is what Breakdown groups by (see Dimensions).
	Dimension string
	// Limit caps Breakdown's rows; 0 means 10.
	Limit int
	// KAnonymity folds city and region rows of Breakdown with fewer
	// visitors than this into one "(other)" row; 0 disables it.
	KAnonymity int
	// NoSummaries reads every day from the raw tables, never from its
	// summary: the answer is the same (the conformance tests check it),
	// only slower.
	NoSummaries bool
	// Exact never samples: a filtered card over more than SampleAbove
	// stored rows reads every one of them (sample.go).
	Exact bool
	// SampleAbove is the stored rows of a period above which a filtered
	// card is estimated from a sample of visitors; 0 means
	// DefaultSampleAbove.
	SampleAbove uint64
}

// Metrics are the counters of one period, bucket or breakdown row. Rates
// and averages are methods, so that rows can be added up (k-anonymity
// folding, totals) before they are derived.
type Metrics struct {
	Visitors  uint64 // distinct visitor ids
	Pageviews uint64 // pageview hits
	Events    uint64 // custom event hits

	Visits           uint64 // sessions started in the period
	Bounces          uint64 // of those, sessions that bounced
	DurationS        uint64 // total visit duration, seconds
	SessionPageviews uint64 // pageviews counted by the sessions

	Engagements  uint64 // engagement beacons
	EngagementMS uint64 // their visible time, summed
	ScrollSum    uint64 // their scroll depth in percent, summed

	// BaseVisitors is the visitors of the period without the goal
	// (event name and props) filters: the denominator of ConversionRate.
	// It is 0 when the query has no goal filter and is not an event
	// breakdown.
	BaseVisitors uint64

	// SampleOneIn is 0 when the counters are exact, and N when they are
	// estimated from the rows of 1 in N visitors, scaled up by N (a
	// filtered card over a large period, sample.go).
	SampleOneIn uint64
}

// Add adds o's counters to s (visitors are assumed disjoint, as they are
// for rows of one breakdown).
func (s *Metrics) Add(o Metrics) {
	s.Visitors += o.Visitors
	s.Pageviews += o.Pageviews
	s.Events += o.Events
	s.Visits += o.Visits
	s.Bounces += o.Bounces
	s.DurationS += o.DurationS
	s.SessionPageviews += o.SessionPageviews
	s.Engagements += o.Engagements
	s.EngagementMS += o.EngagementMS
	s.ScrollSum += o.ScrollSum
	s.BaseVisitors = max(s.BaseVisitors, o.BaseVisitors)
	s.SampleOneIn = max(s.SampleOneIn, o.SampleOneIn)
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ViewsPerVisit is the sessions' pageviews per visit.
func (s Metrics) ViewsPerVisit() float64 { return ratio(s.SessionPageviews, s.Visits) }

// BounceRate is the percentage of visits that bounced.
func (s Metrics) BounceRate() float64 { return 100 * ratio(s.Bounces, s.Visits) }

// VisitDuration is the mean visit duration in seconds.
func (s Metrics) VisitDuration() float64 { return ratio(s.DurationS, s.Visits) }

// TimeOnPage is the mean visible time per engagement beacon, in seconds.
func (s Metrics) TimeOnPage() float64 { return ratio(s.EngagementMS, s.Engagements) / 1000 }

// ScrollDepth is the mean maximum scroll depth per engagement beacon, in
// percent.
func (s Metrics) ScrollDepth() float64 { return ratio(s.ScrollSum, s.Engagements) }

// ConversionRate is the percentage of the period's visitors who match the
// goal filters (or the breakdown's event); 0 without a goal.
func (s Metrics) ConversionRate() float64 { return 100 * ratio(s.Visitors, s.BaseVisitors) }

// Point is one bucket of a time series.
type Point struct {
	Start time.Time // in the query's time zone
	Metrics
}

// BreakdownRow is one value of a breakdown dimension.
type BreakdownRow struct {
	Value string
	Metrics
}

// Other is the value of the row that k-anonymity folds small city and
// region rows into.
const Other = "(other)"

// Aggregate returns the counters of the whole period.
func Aggregate(ctx context.Context, db storage.SQL, q Query) (Metrics, error) {
	p, err := q.plan()
	if err != nil {
		return Metrics{}, err
	}
	if err := p.chooseSample(ctx, db); err != nil {
		return Metrics{}, err
	}
	src, err := p.source(ctx, db)
	if err != nil {
		return Metrics{}, err
	}
	days, err := p.byDay(ctx, db, src)
	if err != nil {
		return Metrics{}, err
	}
	s := total(days)
	s.SampleOneIn = p.sampleOneIn()
	if p.hasGoal() {
		if s.BaseVisitors, err = p.baseVisitors(ctx, db, src); err != nil {
			return Metrics{}, err
		}
	}
	return s, nil
}

// Timeseries returns one Point per bucket of q.Interval from q.From to
// q.To, empty buckets included, in order.
func Timeseries(ctx context.Context, db storage.SQL, q Query) ([]Point, error) {
	p, err := q.plan()
	if err != nil {
		return nil, err
	}
	if err := p.checkInterval(); err != nil {
		return nil, err
	}
	if err := p.chooseSample(ctx, db); err != nil {
		return nil, err
	}
	out, err := p.timeseries(ctx, db)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].SampleOneIn = p.sampleOneIn()
	}
	if !p.hasGoal() {
		return out, nil
	}
	base, err := p.withoutGoals().timeseries(ctx, db)
	if err != nil {
		return nil, err
	}
	for i, b := range base {
		out[i].BaseVisitors = b.Visitors
	}
	return out, nil
}

func (p plan) timeseries(ctx context.Context, db storage.SQL) ([]Point, error) {
	if p.q.Interval == IntervalHour {
		return p.hourlySeries(ctx, db)
	}
	return p.dailySeries(ctx, db)
}

// dailySeries is a daily, weekly or monthly series: the period's days
// added up per bucket (a week's visitors are the sum of its days').
func (p plan) dailySeries(ctx context.Context, db storage.SQL) ([]Point, error) {
	src, err := p.source(ctx, db)
	if err != nil {
		return nil, err
	}
	days, err := p.byDay(ctx, db, src)
	if err != nil {
		return nil, err
	}
	return p.seriesFromDays(days), nil
}

// hourlySeries is an hourly series from the raw rows (an hour's visitors
// are its distinct visitors; a visit counts in every hour it touches).
func (p plan) hourlySeries(ctx context.Context, db storage.SQL) ([]Point, error) {
	b, all := p.hourBuckets(), rawPart{all: true}
	hours, err := p.byBucket(ctx, db, p.eventBucketRows(all, b, "", "")+" UNION ALL "+p.sessionBucketRows(all, b, "", false))
	if err != nil {
		return nil, err
	}
	var out []Point
	for _, start := range p.buckets() {
		out = append(out, Point{Start: start, Metrics: hours[strconv.FormatInt(start.Unix(), 10)]})
	}
	return out, nil
}

// Realtime returns the visitors of the site seen in the five minutes
// before now.
func Realtime(ctx context.Context, db storage.SQL, siteID string, now time.Time) (uint64, error) {
	from := now.Add(-5 * time.Minute)
	q := fmt.Sprintf("SELECT uniqExact(visitor_id) FROM events WHERE site_id = %s AND ts >= %s AND ts <= %s%s AND "+countedHits,
		storage.Quote(siteID), timeLit(from), timeLit(now), keyDays("ts", from, now.Add(time.Second)))
	var n uint64
	if err := storage.QueryRow(ctx, db, q, &n); err != nil {
		return 0, fmt.Errorf("realtime visitors: %w", err)
	}
	return n, nil
}

// timeLit is a DateTime literal of t in UTC.
func timeLit(t time.Time) string { return storage.TimeLit(t) }
