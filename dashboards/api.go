package dashboards

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

// api serves /api/v1/stats/* and /api/v1/suppressed. Handlers parse and
// check parameters, call the storage stats functions and format their
// results as JSON or CSV; every number comes from storage.
type api struct {
	db    storage.SQL
	sites map[string]mote.Site
	goals map[string][]stats.Goal
	order []string // site ids in configuration order
	ui    uiConfig
	now   func() time.Time
	log   *slog.Logger
	// sampleAbove is Config.SampleAbove.
	sampleAbove uint64
}

func newAPI(cfg Config) *api {
	a := &api{sites: map[string]mote.Site{}, goals: cfg.Goals, now: cfg.Now, log: cfg.Logger, ui: newUIConfig(cfg), sampleAbove: cfg.SampleAbove}
	if cfg.Stats != nil {
		a.db = newSharedReads(cfg.Stats, cfg.MaxQueries)
	}
	for _, s := range cfg.Sites {
		a.sites[s.ID] = s
		a.order = append(a.order, s.ID)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// endpoints are the API's GET routes; openapi.yaml documents each (a
// test holds them equal).
func (a *api) endpoints() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"/api/v1/sites":            a.handleSites,
		"/api/v1/session":          a.handleSession,
		"/api/v1/stats/aggregate":  a.answer(a.handleAggregate),
		"/api/v1/stats/timeseries": a.answer(a.handleTimeseries),
		"/api/v1/stats/breakdown":  a.answer(a.handleBreakdown),
		"/api/v1/stats/realtime":   a.answer(a.handleRealtime),
		"/api/v1/suppressed":       a.answer(a.handleSuppressed),
		"/api/v1/stats/goals":      a.answer(a.handleGoals),
		"/api/v1/stats/campaigns":  a.answer(a.handleCampaigns),
	}
}

// answer makes h, which writes its answer or returns what went wrong, an
// http.HandlerFunc: an error is answered by fail, so that every endpoint
// maps errors to statuses the same way.
func (a *api) answer(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	}
}

// openAPI is the API's OpenAPI 3 document, served as written.
//
//go:embed openapi.yaml
var openAPI []byte

func (a *api) routes(mux *http.ServeMux, guard func(http.HandlerFunc) http.HandlerFunc) {
	for path, h := range a.endpoints() {
		mux.HandleFunc("GET "+path, guard(h))
	}
	mux.HandleFunc("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openAPI)
	})
}

// badRequest is an error in the caller's parameters: 400, with its text.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func bad(format string, args ...any) error { return badRequest{fmt.Sprintf(format, args...)} }

// notFound is an unknown site: 404.
type notFound struct{ msg string }

func (e notFound) Error() string { return e.msg }

// fail answers err with the admin API's one error mapping.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) { fail(a.log, w, r, err) }

// fail answers err: 400, 404 or 409 with its text for the caller's
// mistakes, 503 while the store cannot be reached, 500 with a generic
// text otherwise. The cause of a 500 or 503 goes to the log only: an
// internal error never reaches a client.
func fail(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	var br badRequest
	var nf notFound
	switch {
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, br.msg)
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, nf.msg)
	case errors.Is(err, storage.ErrNoCampaign):
		writeError(w, http.StatusNotFound, "no such campaign")
	case errors.Is(err, ErrKeysWiped):
		writeError(w, http.StatusConflict, ErrKeysWiped.Error())
	case errors.Is(err, context.Canceled):
		// the client went away
	case unavailable(err):
		log.Warn("admin API: storage unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "storage unavailable, try again shortly")
	default:
		log.Error("admin API request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "request failed")
	}
}

// unavailable reports an error of reaching the store rather than of the
// query: not connected yet, or the connection refused or cut.
func unavailable(err error) bool {
	var op *net.OpError
	return errors.Is(err, storage.ErrUnavailable) || errors.As(err, &op) || errors.Is(err, syscall.ECONNREFUSED)
}

// metric is one metric of s: counts are integers, rates and averages are
// rounded to two decimals.
func metric(s stats.Metrics, m string) any {
	var f float64
	switch m {
	case "visitors":
		return s.Visitors
	case "visits":
		return s.Visits
	case "pageviews":
		return s.Pageviews
	case "events":
		return s.Events
	case "views_per_visit":
		f = s.ViewsPerVisit()
	case "bounce_rate":
		f = s.BounceRate()
	case "visit_duration":
		f = s.VisitDuration()
	case "conversion_rate":
		f = s.ConversionRate()
	case "time_on_page":
		f = s.TimeOnPage()
	case "scroll_depth":
		f = s.ScrollDepth()
	}
	return math.Round(f*100) / 100
}

func asFloat(v any) float64 {
	switch v := v.(type) {
	case uint64:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// change compares a metric with its comparison value: the difference in
// points for rates (bounce and conversion), else the change in percent;
// nil when the comparison is zero and a percentage means nothing.
func change(m string, now, before any) any {
	n, b := asFloat(now), asFloat(before)
	if m == "bounce_rate" || m == "conversion_rate" {
		return math.Round((n-b)*100) / 100
	}
	if b == 0 {
		return nil
	}
	return math.Round((n-b)/b*1000) / 10
}

func hasGoal(fs []stats.Filter) bool {
	for _, f := range fs {
		if f.Dimension == "event" || strings.HasPrefix(f.Dimension, stats.PropPrefix) {
			return true
		}
	}
	return false
}

func periodJSON(p period, loc *time.Location) map[string]any {
	return map[string]any{
		"name": p.Name, "from": p.From.Format(time.DateOnly), "to": p.To.AddDate(0, 0, -1).Format(time.DateOnly),
		"timezone": loc.String(),
	}
}

func dateString(t time.Time, iv stats.Interval) string {
	if iv == stats.IntervalHour {
		return t.Format(time.RFC3339)
	}
	return t.Format(time.DateOnly)
}

func (a *api) handleSites(w http.ResponseWriter, r *http.Request) {
	type site struct {
		ID       string `json:"id"`
		Timezone string `json:"timezone"`
	}
	out := []site{}
	for _, id := range a.order {
		if allowed(r, id) {
			out = append(out, site{ID: id, Timezone: a.sites[id].Timezone})
		}
	}
	writeJSON(w, map[string]any{"sites": out})
}

var aggregateMetrics = []string{"visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration",
	"events", "time_on_page", "scroll_depth"}

func (a *api) handleAggregate(w http.ResponseWriter, r *http.Request) error {
	req, err := a.parseMetrics(r, aggregateMetrics)
	if err != nil {
		return err
	}
	s, err := stats.Aggregate(r.Context(), a.db, req.query(req.period))
	if err != nil {
		return err
	}
	var before stats.Metrics
	if req.compare != nil {
		if before, err = stats.Aggregate(r.Context(), a.db, req.query(*req.compare)); err != nil {
			return err
		}
	}
	out := map[string]any{"site": req.site.ID, "period": periodJSON(req.period, req.loc)}
	reportSample(w, out, s.SampleOneIn, before.SampleOneIn)
	if req.csv {
		header := []string{"metric", "value"}
		if req.compare != nil {
			header = append(header, "comparison_value", "change")
		}
		rows := [][]any{}
		for _, m := range req.metrics {
			row := []any{m, metric(s, m)}
			if req.compare != nil {
				row = append(row, metric(before, m), change(m, metric(s, m), metric(before, m)))
			}
			rows = append(rows, row)
		}
		writeCSV(w, "aggregate", header, rows)
		return nil
	}
	results := map[string]any{}
	for _, m := range req.metrics {
		v := map[string]any{"value": metric(s, m)}
		if req.compare != nil {
			v["comparison_value"] = metric(before, m)
			v["change"] = change(m, metric(s, m), metric(before, m))
		}
		results[m] = v
	}
	out["results"] = results
	if req.compare != nil {
		out["comparison_period"] = periodJSON(*req.compare, req.loc)
	}
	writeJSON(w, out)
	return nil
}

// peekFilters reads the filters only to choose default metrics; errors
// are reported by parse.
func (a *api) peekFilters(r *http.Request) []stats.Filter {
	fs, _ := parseFilters(r.URL.Query()["filters"])
	return fs
}

// parseMetrics is parse with def as the default metrics, plus the
// conversion rate when a filter names a goal.
func (a *api) parseMetrics(r *http.Request, def []string) (request, error) {
	if hasGoal(a.peekFilters(r)) {
		def = append(slices.Clone(def), "conversion_rate")
	}
	return a.parse(r, def)
}

var timeseriesMetrics = []string{"visitors", "visits", "pageviews", "bounce_rate", "visit_duration"}

func (a *api) handleTimeseries(w http.ResponseWriter, r *http.Request) error {
	req, err := a.parseMetrics(r, timeseriesMetrics)
	if err != nil {
		return err
	}
	pts, err := stats.Timeseries(r.Context(), a.db, req.query(req.period))
	if err != nil {
		return asBad(err)
	}
	var prev []stats.Point
	if req.compare != nil {
		if prev, err = stats.Timeseries(r.Context(), a.db, req.query(*req.compare)); err != nil {
			return asBad(err)
		}
	}
	iv := req.period.Interval
	out := map[string]any{"site": req.site.ID, "period": periodJSON(req.period, req.loc), "interval": string(iv)}
	for _, p := range append(slices.Clip(pts), prev...) {
		reportSample(w, out, p.SampleOneIn)
	}
	if req.csv {
		header := append([]string{"date"}, req.metrics...)
		if req.compare != nil {
			header = append(header, "comparison_date")
			for _, m := range req.metrics {
				header = append(header, "comparison_"+m)
			}
		}
		var rows [][]any
		for i, p := range pts {
			row := []any{dateString(p.Start, iv)}
			for _, m := range req.metrics {
				row = append(row, metric(p.Metrics, m))
			}
			if req.compare != nil {
				if i < len(prev) {
					row = append(row, dateString(prev[i].Start, iv))
					for _, m := range req.metrics {
						row = append(row, metric(prev[i].Metrics, m))
					}
				} else {
					for range len(req.metrics) + 1 {
						row = append(row, "")
					}
				}
			}
			rows = append(rows, row)
		}
		writeCSV(w, "timeseries", header, rows)
		return nil
	}
	series := func(pts []stats.Point) []map[string]any {
		out := make([]map[string]any, 0, len(pts))
		for _, p := range pts {
			o := map[string]any{"date": dateString(p.Start, iv)}
			for _, m := range req.metrics {
				o[m] = metric(p.Metrics, m)
			}
			out = append(out, o)
		}
		return out
	}
	out["results"] = series(pts)
	if req.compare != nil {
		out["comparison_period"] = periodJSON(*req.compare, req.loc)
		out["comparison"] = series(prev)
	}
	writeJSON(w, out)
	return nil
}

// sampleHeader carries sample_one_in on every format (CSV has no room
// for it in the body).
const sampleHeader = "Mote-Sample-One-In"

// reportSample says, when any of the answer's parts was estimated from
// a sample of visitors (a filtered card over a large period, see
// stats.Query.Exact; oneIn as Metrics.SampleOneIn), from the thinnest:
// sample_one_in in the JSON answer out and the sampleHeader header.
// Absent, the counts are exact.
func reportSample(w http.ResponseWriter, out map[string]any, oneIn ...uint64) {
	for _, n := range oneIn {
		if was, _ := out["sample_one_in"].(uint64); n > was {
			out["sample_one_in"] = n
			w.Header().Set(sampleHeader, strconv.FormatUint(n, 10))
		}
	}
}

// asBad turns a stats query refused for its shape (too many buckets) into
// a 400: the caller chose the interval.
func asBad(err error) error {
	if strings.Contains(err.Error(), "choose a larger interval") {
		return badRequest{err.Error()}
	}
	return err
}

// breakdownMetrics are the default columns of a breakdown card: what a
// row of that dimension counts (see stats.Breakdown).
func breakdownMetrics(dim string) []string {
	switch {
	case dim == "page":
		return []string{"visitors", "pageviews", "time_on_page", "scroll_depth"}
	case dim == "event" || strings.HasPrefix(dim, stats.PropPrefix):
		return []string{"visitors", "events", "conversion_rate"}
	case dim == "browser_version" || dim == "os_version":
		return []string{"visitors", "pageviews"}
	case slices.Contains([]string{"entry_page", "exit_page", "source", "referrer", "channel",
		"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}, dim):
		return []string{"visitors", "visits", "bounce_rate", "visit_duration"}
	}
	return []string{"visitors", "pageviews", "visits", "bounce_rate"}
}

func (a *api) handleBreakdown(w http.ResponseWriter, r *http.Request) error {
	dim := r.URL.Query().Get("property")
	if dim == "" {
		return bad("property is required (the dimension to break down by)")
	}
	if !knownDimension(dim) {
		return bad("property: unknown dimension %q", dim)
	}
	req, err := a.parse(r, breakdownMetrics(dim))
	if err != nil {
		return err
	}
	q := req.query(req.period)
	q.Dimension = dim
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > stats.MaxBreakdownLimit {
			return bad("limit: want 1 to %d, got %q", stats.MaxBreakdownLimit, s)
		}
		q.Limit = n
	}
	rows, err := stats.Breakdown(r.Context(), a.db, q)
	if err != nil {
		return err
	}
	out := map[string]any{"site": req.site.ID, "period": periodJSON(req.period, req.loc), "property": dim}
	for _, row := range rows {
		reportSample(w, out, row.SampleOneIn)
	}
	if req.csv {
		var out [][]any
		for _, row := range rows {
			o := []any{row.Value}
			for _, m := range req.metrics {
				o = append(o, metric(row.Metrics, m))
			}
			out = append(out, o)
		}
		writeCSV(w, "breakdown-"+dim, append([]string{dim}, req.metrics...), out)
		return nil
	}
	results := make([]map[string]any, 0, len(rows))
	for _, row := range rows {
		o := map[string]any{"value": row.Value}
		for _, m := range req.metrics {
			o[m] = metric(row.Metrics, m)
		}
		results = append(results, o)
	}
	out["results"] = results
	writeJSON(w, out)
	return nil
}

func (a *api) handleRealtime(w http.ResponseWriter, r *http.Request) error {
	site, _, err := a.site(r)
	if err != nil {
		return err
	}
	n, err := stats.Realtime(r.Context(), a.db, site.ID, a.now())
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "csv" {
		writeCSV(w, "realtime", []string{"visitors"}, [][]any{{n}})
		return nil
	}
	writeJSON(w, map[string]any{"site": site.ID, "visitors": n})
	return nil
}

func (a *api) handleSuppressed(w http.ResponseWriter, r *http.Request) error {
	req, err := a.parse(r, nil)
	if err != nil {
		return err
	}
	rep, err := stats.Privacy(r.Context(), a.db, req.query(req.period))
	if err != nil {
		return err
	}
	total := rep.SuppressedTotal()
	share := 0.0
	if all := total + rep.Stored; all > 0 {
		share = math.Round(float64(total)/float64(all)*10000) / 100
	}
	reasons := make([]string, 0, len(rep.Suppressed))
	for reason := range rep.Suppressed {
		reasons = append(reasons, reason)
	}
	slices.Sort(reasons)
	if req.csv {
		var rows [][]any
		for _, reason := range reasons {
			rows = append(rows, []any{reason, rep.Suppressed[reason]})
		}
		rows = append(rows, []any{"stored", rep.Stored})
		writeCSV(w, "suppressed", []string{"reason", "count"}, rows)
		return nil
	}
	by := make([]map[string]any, 0, len(reasons))
	for _, reason := range reasons {
		by = append(by, map[string]any{"reason": reason, "count": rep.Suppressed[reason]})
	}
	writeJSON(w, map[string]any{
		"site": req.site.ID, "period": periodJSON(req.period, req.loc),
		"days":   map[string]any{"from": rep.From.Format(time.DateOnly), "to": rep.To.Format(time.DateOnly)},
		"stored": rep.Stored, "suppressed": total, "suppressed_percent": share, "reasons": by,
	})
	return nil
}
