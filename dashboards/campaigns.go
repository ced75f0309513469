package dashboards

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

// Campaigns is what the campaign API needs from its wiring. Making a
// campaign (its checks and fresh keys) and signing a link are shared with
// the `mote campaign` command, so the command's package hands them in;
// this file is the HTTP side only.
//
//	POST /api/v1/campaigns               {"site","name","id","sends","window"} → 201 the campaign
//	GET  /api/v1/campaigns               the campaigns (never their keys)
//	GET  /api/v1/campaigns/{id}          one campaign
//	POST /api/v1/campaigns/{id}/links    {"url"} → the signed link, with {{TOKEN}}
//	GET  /api/v1/campaigns/{id}/report   the report (as mote campaign report --json)
//
// With the embedded engine `mote campaign` cannot open the data directory
// while serve holds it, so serve offers the same operations here. Paths of
// the pixel and links are relative to the collector's public URL.
type Campaigns struct {
	// DB runs the campaigns table and the reports' queries.
	DB storage.SQL
	// New makes a campaign from a create request; its errors are the
	// caller's mistakes (400).
	New func(site, name, id, window string, sends uint64) (storage.Campaign, error)
	// LinkPath signs target for c: "/c/ID/{{TOKEN}}?u=...&s=...". It
	// returns ErrKeysWiped once the campaign's keys are gone; other errors
	// are the caller's mistakes (400).
	LinkPath func(c storage.Campaign, target string) (string, error)
	// PixelPath is c's per-recipient open pixel, "/o/ID/{{TOKEN}}.gif".
	PixelPath func(c storage.Campaign) string
	// Created runs after a create, e.g. to reload the collector's
	// campaign table at once.
	Created func()
}

// ErrKeysWiped is a campaign whose tracking window has closed: its keys
// are destroyed, so no link can be signed for it (409).
var ErrKeysWiped = errors.New("the campaign's window has closed and its keys are wiped")

// campaignJSON is a campaign as the API shows it: no keys.
type campaignJSON struct {
	ID        string    `json:"campaign_id"`
	SiteID    string    `json:"site_id"`
	Name      string    `json:"name"`
	Created   time.Time `json:"created"`
	WindowEnd time.Time `json:"window_end"`
	Sends     uint64    `json:"sends"`
	KeysWiped bool      `json:"keys_wiped"`
	Pixel     string    `json:"pixel"` // path under the collector's URL
}

type campaignAPI struct {
	cfg   Campaigns
	store *storage.Campaigns
	log   *slog.Logger
}

func (a *campaignAPI) toJSON(c storage.Campaign) campaignJSON {
	return campaignJSON{ID: c.ID, SiteID: c.SiteID, Name: c.Name, Created: c.Created, WindowEnd: c.WindowEnd,
		Sends: c.Sends, KeysWiped: c.Wiped(), Pixel: a.cfg.PixelPath(c)}
}

func (a *campaignAPI) routes(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	for pattern, h := range map[string]http.HandlerFunc{
		"POST /api/v1/campaigns":            a.create,
		"GET /api/v1/campaigns":             a.list,
		"GET /api/v1/campaigns/{id}":        a.show,
		"POST /api/v1/campaigns/{id}/links": a.link,
		"GET /api/v1/campaigns/{id}/report": a.report,
	} {
		mux.Handle(pattern, guard(h))
	}
}

// decode reads a small JSON body with no unknown fields.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad("body: %v", err)
	}
	return nil
}

func (a *campaignAPI) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Site   string `json:"site"`
		Name   string `json:"name"`
		ID     string `json:"id"`
		Sends  uint64 `json:"sends"`
		Window string `json:"window"`
	}
	if err := decode(r, &req); err != nil {
		fail(a.log, w, r, err)
		return
	}
	if req.Window == "" {
		req.Window = "30d"
	}
	c, err := a.cfg.New(req.Site, req.Name, req.ID, req.Window, req.Sends)
	if err != nil {
		fail(a.log, w, r, badRequest{err.Error()})
		return
	}
	if err := a.store.Create(r.Context(), c); err != nil {
		fail(a.log, w, r, err)
		return
	}
	if a.cfg.Created != nil {
		a.cfg.Created()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(a.toJSON(c))
}

func (a *campaignAPI) list(w http.ResponseWriter, r *http.Request) {
	all, err := a.store.List(r.Context())
	if err != nil {
		fail(a.log, w, r, err)
		return
	}
	out := make([]campaignJSON, 0, len(all))
	for _, c := range all {
		out = append(out, a.toJSON(c))
	}
	writeJSON(w, out)
}

func (a *campaignAPI) show(w http.ResponseWriter, r *http.Request) {
	c, err := a.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(a.log, w, r, err)
		return
	}
	writeJSON(w, a.toJSON(c))
}

func (a *campaignAPI) link(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URL string `json:"url"`
	}
	if err := decode(r, &req); err != nil {
		fail(a.log, w, r, err)
		return
	}
	c, err := a.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(a.log, w, r, err)
		return
	}
	link, err := a.cfg.LinkPath(c, req.URL)
	if err != nil && !errors.Is(err, ErrKeysWiped) {
		err = badRequest{err.Error()}
	}
	if err != nil {
		fail(a.log, w, r, err)
		return
	}
	writeJSON(w, map[string]string{"link": link})
}

func (a *campaignAPI) report(w http.ResponseWriter, r *http.Request) {
	c, err := a.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(a.log, w, r, err)
		return
	}
	rep, err := stats.Campaign(r.Context(), a.cfg.DB, c)
	if err != nil {
		fail(a.log, w, r, err)
		return
	}
	writeJSON(w, rep)
}
