package stats

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/mote-analytics/mote/storage"
)

// Goal is a conversion a site counts: a custom event by name, or a
// pageview of a page matching a pattern in which "*" stands for any run
// of characters ("/pricing*" matches /pricing and /pricing/team; "/blog/*/comments" any post's comments).
type Goal struct {
	Name  string
	Event string // custom event name, or
	Page  string // page pattern
}

// MaxGoals bounds the goals of one site: each is two columns of one query.
const MaxGoals = 50

// Check reports a goal that cannot be counted.
func (g Goal) Check() error {
	switch {
	case strings.TrimSpace(g.Name) == "":
		return errors.New("a goal needs a name")
	case (g.Event == "") == (g.Page == ""):
		return fmt.Errorf("goal %q: set exactly one of event and page", g.Name)
	case g.Page != "" && !strings.HasPrefix(g.Page, "/") && !strings.HasPrefix(g.Page, "*"):
		return fmt.Errorf("goal %q: page %q must start with / (or *)", g.Name, g.Page)
	case len(g.Event) > 256 || len(g.Page) > 1024 || len(g.Name) > 256:
		return fmt.Errorf("goal %q is too long", g.Name)
	}
	return nil
}

// condition is the goal's test on one events row.
func (g Goal) condition() string {
	if g.Event != "" {
		return "kind = 'event' AND name = " + storage.Quote(g.Event)
	}
	parts := strings.Split(g.Page, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return "kind = 'pageview' AND match(pathname, " + storage.Quote("^"+strings.Join(parts, ".*")+"$") + ")"
}

// GoalRow is one goal over a period.
type GoalRow struct {
	Goal
	Visitors     uint64 // distinct visitors who converted
	Conversions  uint64 // matching custom events or pageviews
	BaseVisitors uint64 // all visitors of the period (the filters applied)
	SampleOneIn  uint64 // as Metrics.SampleOneIn: 0, or estimated from 1 in N visitors
}

// ConversionRate is the percentage of the period's visitors who
// converted.
func (r GoalRow) ConversionRate() float64 { return 100 * ratio(r.Visitors, r.BaseVisitors) }

// Goals counts each goal over q's period, in the order given. Filters on
// other dimensions apply to the goal and to the base alike; goal filters
// (event, prop:KEY) are left out, since a goal's own conversion rate is
// measured against every visitor. One query answers for every goal.
func Goals(ctx context.Context, db storage.SQL, q Query, goals []Goal) ([]GoalRow, error) {
	p, err := q.plan()
	if err != nil {
		return nil, err
	}
	p = p.withoutGoals()
	if len(goals) > MaxGoals {
		return nil, fmt.Errorf("goals: %d, at most %d", len(goals), MaxGoals)
	}
	if err := p.chooseSample(ctx, db); err != nil {
		return nil, fmt.Errorf("goals: %w", err)
	}
	// Visitors are counted per day and added up, as every card counts
	// them (days.go).
	cols, sums := []string{"uniqExact(visitor_id) AS c0"}, []string{"sum(c0)" + p.scale()}
	for i, g := range goals {
		if err := g.Check(); err != nil {
			return nil, err
		}
		c := g.condition()
		cols = append(cols, fmt.Sprintf("uniqExactIf(visitor_id, %s) AS v%d", c, i), fmt.Sprintf("countIf(%s) AS n%d", c, i))
		sums = append(sums, fmt.Sprintf("sum(v%d)%s", i, p.scale()), fmt.Sprintf("sum(n%d)%s", i, p.scale()))
	}
	out := make([]GoalRow, len(goals))
	dest := make([]any, 0, len(cols))
	var base uint64
	dest = append(dest, &base)
	for i := range out {
		out[i].Goal = goals[i]
		dest = append(dest, &out[i].Visitors, &out[i].Conversions)
	}
	query := "SELECT " + strings.Join(sums, ", ") + " FROM (SELECT toDate(ts, " + p.tzLit() + ") AS d, " + strings.Join(cols, ", ") +
		" FROM events " + p.eventClauses("") + " GROUP BY d)"
	if err := storage.QueryRow(ctx, db, query, dest...); err != nil {
		return nil, fmt.Errorf("goals: %w", err)
	}
	for i := range out {
		out[i].BaseVisitors, out[i].SampleOneIn = base, p.sampleOneIn()
	}
	return out, nil
}
