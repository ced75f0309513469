package dashboards

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage/stats"
)

// The stats API's query parameters: site, period, comparison, filters,
// metrics and format, parsed into a request (or a 400/404 error).

// request is a parsed stats request.
type request struct {
	site    mote.Site
	loc     *time.Location
	period  period
	compare *period
	filters []stats.Filter
	metrics []string
	csv     bool
	exact   bool // never estimate from a sample (stats.Query.Exact)
	// sampleAbove is Config.SampleAbove.
	sampleAbove uint64
}

func (r request) query(p period) stats.Query {
	return stats.Query{
		SiteID: r.site.ID, From: p.From, To: p.To, Timezone: r.loc.String(),
		Interval: p.Interval, Filters: r.filters, KAnonymity: r.site.ReportK(), Exact: r.exact, SampleAbove: r.sampleAbove,
	}
}

// site is the request's site, which the caller must be allowed to read
// (a share link reads its own site only: others are "unknown").
func (a *api) site(r *http.Request) (mote.Site, *time.Location, error) {
	id := r.URL.Query().Get("site")
	if id == "" {
		return mote.Site{}, nil, bad("site is required")
	}
	s, ok := a.sites[id]
	if !ok || !allowed(r, id) {
		return mote.Site{}, nil, notFound{fmt.Sprintf("unknown site %q", id)}
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return mote.Site{}, nil, fmt.Errorf("site %s time zone: %w", id, err)
	}
	return s, loc, nil
}

func (a *api) parse(r *http.Request, defaultMetrics []string) (request, error) {
	v := r.URL.Query()
	req := request{sampleAbove: a.sampleAbove}
	var err error
	if req.site, req.loc, err = a.site(r); err != nil {
		return req, err
	}
	if req.period, err = parsePeriod(v, req.loc, a.now(), req.site.Retention); err != nil {
		return req, badRequest{err.Error()}
	}
	c, ok, err := compared(req.period, v.Get("compare"))
	if err != nil {
		return req, badRequest{err.Error()}
	}
	if ok {
		req.compare = &c
	}
	if req.filters, err = parseFilters(v["filters"]); err != nil {
		return req, err
	}
	if req.metrics, err = parseMetrics(v.Get("metrics"), defaultMetrics); err != nil {
		return req, err
	}
	switch e := v.Get("exact"); e {
	case "", "false":
	case "true":
		req.exact = true
	default:
		return req, bad("exact: want true or false, got %q", e)
	}
	switch f := v.Get("format"); f {
	case "", "json":
	case "csv":
		req.csv = true
	default:
		return req, bad("format: want json or csv, got %q", f)
	}
	return req, nil
}

// Filters are query parameters "filters=DIMENSION OP VALUE", one per
// filter, all applying: OP is == (is), != (is not), ~ (contains) or !~
// (does not contain); VALUE may list alternatives separated by |, and is
// empty for "(none)" (source== is direct traffic).
var filterOps = []struct {
	token string
	op    stats.FilterOp
}{{"!=", stats.FilterIsNot}, {"!~", stats.FilterNotContains}, {"==", stats.FilterIs}, {"~", stats.FilterContains}}

func parseFilters(raw []string) ([]stats.Filter, error) {
	if len(raw) > 20 {
		return nil, bad("at most 20 filters")
	}
	var out []stats.Filter
	for _, s := range raw {
		best, at := -1, -1
		for i, o := range filterOps {
			if j := strings.Index(s, o.token); j > 0 && (at < 0 || j < at || (j == at && len(o.token) > len(filterOps[best].token))) {
				best, at = i, j
			}
		}
		if best < 0 {
			return nil, bad("filter %q: want DIMENSION==VALUE (or !=, ~, !~)", s)
		}
		dim := strings.TrimSpace(s[:at])
		if !knownDimension(dim) {
			return nil, bad("filter %q: unknown dimension %q", s, dim)
		}
		value := s[at+len(filterOps[best].token):]
		// An empty value after == or != is the "(none)" row of a
		// breakdown (direct traffic under sources, no UTM campaign):
		// Plausible lets a marketer filter "Direct / None" too. "Contains
		// nothing" would match everything, so ~ and !~ need a value.
		if value == "" && (filterOps[best].op == stats.FilterContains || filterOps[best].op == stats.FilterNotContains) {
			return nil, bad("filter %q: no value to look for", s)
		}
		out = append(out, stats.Filter{Dimension: dim, Op: filterOps[best].op, Values: strings.Split(value, "|")})
	}
	return out, nil
}

func knownDimension(d string) bool {
	if k, ok := strings.CutPrefix(d, stats.PropPrefix); ok {
		return k != ""
	}
	return slices.Contains(stats.Dimensions(), d)
}

// Metrics are what a card can show; parseMetrics checks a comma list.
var allMetrics = []string{"visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration",
	"events", "conversion_rate", "time_on_page", "scroll_depth"}

func parseMetrics(s string, def []string) ([]string, error) {
	if s == "" {
		return def, nil
	}
	var out []string
	for _, m := range strings.Split(s, ",") {
		if !slices.Contains(allMetrics, m) {
			return nil, bad("metrics: unknown metric %q (known: %s)", m, strings.Join(allMetrics, ", "))
		}
		out = append(out, m)
	}
	return out, nil
}
