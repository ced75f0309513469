package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

// campaignAPI is the admin listener's campaign API: with the embedded
// engine `mote campaign` cannot open the data directory while serve holds
// it, so serve offers the same operations itself.
//
//	POST /api/v1/campaigns               {"site","name","sends","window"} → 201 the campaign
//	GET  /api/v1/campaigns               the campaigns (never their keys)
//	GET  /api/v1/campaigns/{id}          one campaign
//	POST /api/v1/campaigns/{id}/links    {"url"} → the signed link, with {{TOKEN}}
//	GET  /api/v1/campaigns/{id}/report   the report (as mote campaign report --json)
//
// Paths of the pixel and links are relative to the collector's public URL,
// which serve does not know. A created campaign is tracked from the
// keeper's next refresh, which the handler triggers at once.
type campaignAPI struct {
	cfg     *Config
	db      storage.SQL // the reports' queries
	store   *storage.Campaigns
	refresh func() // reloads the collector's campaign table
}

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

func toJSON(c storage.Campaign) campaignJSON {
	return campaignJSON{ID: c.ID, SiteID: c.SiteID, Name: c.Name, Created: c.Created, WindowEnd: c.WindowEnd,
		Sends: c.Sends, KeysWiped: c.Wiped(), Pixel: "/o/" + c.ID + "/" + tokenPlaceholder + ".gif"}
}

// campaignHandler is the campaign API on serve's storage link; a create
// reloads keeper's table at once.
func campaignHandler(cfg *Config, store *storageLink, keeper *campaignKeeper) http.Handler {
	db := sqlLink{store}
	a := &campaignAPI{cfg: cfg, db: db, store: storage.NewCampaigns(db), refresh: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = keeper.refresh(ctx) // on failure the periodic refresh catches up
	}}
	mux := http.NewServeMux()
	a.routes(mux)
	return mux
}

func (a *campaignAPI) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/campaigns", a.create)
	mux.HandleFunc("GET /api/v1/campaigns", a.list)
	mux.HandleFunc("GET /api/v1/campaigns/{id}", a.show)
	mux.HandleFunc("POST /api/v1/campaigns/{id}/links", a.link)
	mux.HandleFunc("GET /api/v1/campaigns/{id}/report", a.report)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var bad badRequest
	switch {
	case errors.As(err, &bad):
		status = http.StatusBadRequest
	case errors.Is(err, storage.ErrNoCampaign):
		status = http.StatusNotFound
	case errors.Is(err, errKeysWiped):
		status = http.StatusConflict
	case errors.Is(err, storage.ErrUnavailable):
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

type badRequest struct{ error }

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest{errors.New("body: " + err.Error())}
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
		apiError(w, err)
		return
	}
	if req.Window == "" {
		req.Window = "30d"
	}
	c, err := newCampaign(a.cfg, cliFlags{site: &req.Site, name: &req.Name, id: &req.ID, window: &req.Window, sends: &req.Sends})
	if err != nil {
		apiError(w, badRequest{err})
		return
	}
	if err := a.store.Create(r.Context(), c); err != nil {
		apiError(w, err)
		return
	}
	if a.refresh != nil {
		a.refresh()
	}
	writeJSON(w, http.StatusCreated, toJSON(c))
}

func (a *campaignAPI) list(w http.ResponseWriter, r *http.Request) {
	all, err := a.store.List(r.Context())
	if err != nil {
		apiError(w, err)
		return
	}
	out := make([]campaignJSON, 0, len(all))
	for _, c := range all {
		out = append(out, toJSON(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *campaignAPI) show(w http.ResponseWriter, r *http.Request) {
	c, err := a.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(c))
}

func (a *campaignAPI) link(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URL string `json:"url"`
	}
	if err := decode(r, &req); err != nil {
		apiError(w, err)
		return
	}
	if err := checkTarget(req.URL); err != nil {
		apiError(w, badRequest{err})
		return
	}
	c, err := a.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		apiError(w, err)
		return
	}
	if c.Wiped() || len(c.LinkKey) != enrich.LinkKeyLen {
		apiError(w, errKeysWiped)
		return
	}
	var key [enrich.LinkKeyLen]byte
	copy(key[:], c.LinkKey)
	link := "/c/" + c.ID + "/" + tokenPlaceholder + "?u=" + url.QueryEscape(req.URL) + "&s=" + enrich.SignLink(&key, req.URL)
	writeJSON(w, http.StatusOK, map[string]string{"link": link})
}

func (a *campaignAPI) report(w http.ResponseWriter, r *http.Request) {
	c, err := a.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		apiError(w, err)
		return
	}
	rep, err := stats.Campaign(r.Context(), a.db, c)
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
