package dashboards

import (
	"math"
	"net/http"
	"time"

	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

// handleGoals answers the site's configured goals over the period: for
// each, the visitors who converted, the conversions (events or
// pageviews) and the conversion rate against the period's visitors.
// Filters apply, except goal filters (event, prop:KEY).
func (a *api) handleGoals(w http.ResponseWriter, r *http.Request) error {
	req, err := a.parse(r, nil)
	if err != nil {
		return err
	}
	rows, err := stats.Goals(r.Context(), a.db, req.query(req.period), a.goals[req.site.ID])
	if err != nil {
		return err
	}
	rate := func(g stats.GoalRow) float64 { return math.Round(g.ConversionRate()*100) / 100 }
	out := map[string]any{"site": req.site.ID, "period": periodJSON(req.period, req.loc)}
	for _, g := range rows {
		reportSample(w, out, g.SampleOneIn)
	}
	if req.csv {
		var out [][]any
		for _, g := range rows {
			out = append(out, []any{g.Name, g.Event, g.Page, g.Visitors, g.Conversions, rate(g)})
		}
		writeCSV(w, "goals", []string{"goal", "event", "page", "visitors", "conversions", "conversion_rate"}, out)
		return nil
	}
	results := make([]map[string]any, 0, len(rows))
	for _, g := range rows {
		o := map[string]any{"goal": g.Name, "visitors": g.Visitors, "conversions": g.Conversions, "conversion_rate": rate(g)}
		if g.Event != "" {
			o["event"] = g.Event
		} else {
			o["page"] = g.Page
		}
		results = append(results, o)
	}
	out["results"] = results
	writeJSON(w, out)
	return nil
}

// maxCampaignReports bounds /api/v1/stats/campaigns: each report is a
// handful of queries.
const maxCampaignReports = 50

// handleCampaigns answers the reports of the site's email campaigns,
// newest first (the campaigns page of the dashboard). The campaigns API
// (create, links) stays with the admin; this read-only view is also open
// to the site's share links.
func (a *api) handleCampaigns(w http.ResponseWriter, r *http.Request) error {
	site, _, err := a.site(r)
	if err != nil {
		return err
	}
	store := storage.NewCampaigns(a.db)
	all, err := store.List(r.Context())
	if err != nil {
		return err
	}
	reports := []*stats.CampaignReport{}
	for i := len(all) - 1; i >= 0 && len(reports) < maxCampaignReports; i-- {
		if all[i].SiteID != site.ID {
			continue
		}
		rep, err := stats.Campaign(r.Context(), a.db, all[i])
		if err != nil {
			return err
		}
		reports = append(reports, rep)
	}
	if r.URL.Query().Get("format") == "csv" {
		var out [][]any
		for _, c := range reports {
			out = append(out, []any{c.ID, c.Name, c.Sends, c.WindowEnd.Format(time.RFC3339), c.Opens, c.HumanOpens, c.MachineOpens,
				c.UniqueOpens, c.OpenRate, c.Clicks, c.UniqueClicks, c.ClickToOpenRate})
		}
		writeCSV(w, "campaigns", []string{"campaign_id", "name", "sends", "window_end", "opens", "human_opens", "machine_opens",
			"unique_opens", "open_rate", "clicks", "unique_clicks", "click_to_open_rate"}, out)
		return nil
	}
	writeJSON(w, map[string]any{"site": site.ID, "results": reports})
	return nil
}
