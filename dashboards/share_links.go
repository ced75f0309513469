package dashboards

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// NewShareLink makes a read-only link to site's dashboard: a random key
// (returned, to be shown once) and the row to store, which holds only the
// key's hash. The public id is hex, so that it never starts with '-' and
// reads as a flag on a command line (mote share revoke ID); ids made
// before, in URL-safe base64, are revoked with "mote share revoke -- ID".
func NewShareLink(site, label string, now time.Time) (storage.ShareLink, string) {
	key := randomToken()
	var b [9]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather)
	id := hex.EncodeToString(b[:])
	return storage.ShareLink{SiteID: site, ID: id, KeyHash: shareKeyHash(key), Label: label, Created: now}, key
}

// SharePath is the dashboard path a share key opens (under the admin
// listener's URL).
func SharePath(site, key string) string {
	return "/?" + url.Values{"site": {site}, "auth": {key}}.Encode()
}

// shareJSON is a share link as the API lists it (no key, no hash).
type shareJSON struct {
	ID      string    `json:"id"`
	Site    string    `json:"site"`
	Label   string    `json:"label"`
	Created time.Time `json:"created"`
	Revoked bool      `json:"revoked"`
	Key     string    `json:"key,omitempty"`  // on creation only
	Path    string    `json:"path,omitempty"` // on creation only
}

func toShareJSON(l storage.ShareLink) shareJSON {
	return shareJSON{ID: l.ID, Site: l.SiteID, Label: l.Label, Created: l.Created, Revoked: l.Revoked}
}

// shareAPI is the admin's share-link API:
//
//	GET    /api/v1/share-links[?site=S]  the links (never their keys)
//	POST   /api/v1/share-links           {"site","label"} → 201 with key and path, shown once
//	DELETE /api/v1/share-links/{id}      revoke
type shareAPI struct {
	api    *api
	links  *storage.ShareLinks
	shares *shareCache
}

func (s *shareAPI) routes(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	mux.Handle("GET /api/v1/share-links", guard(http.HandlerFunc(s.list)))
	mux.Handle("POST /api/v1/share-links", guard(http.HandlerFunc(s.create)))
	mux.Handle("DELETE /api/v1/share-links/{id}", guard(http.HandlerFunc(s.revoke)))
}

func (s *shareAPI) list(w http.ResponseWriter, r *http.Request) {
	all, err := s.links.List(r.Context())
	if err != nil {
		s.api.fail(w, r, err)
		return
	}
	site := r.URL.Query().Get("site")
	out := []shareJSON{}
	for _, l := range all {
		if site == "" || l.SiteID == site {
			out = append(out, toShareJSON(l))
		}
	}
	writeJSON(w, map[string]any{"links": out})
}

func (s *shareAPI) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Site  string `json:"site"`
		Label string `json:"label"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.api.fail(w, r, bad("body: %v", err))
		return
	}
	if _, ok := s.api.sites[req.Site]; !ok {
		s.api.fail(w, r, bad("site %q is not configured", req.Site))
		return
	}
	if len(req.Label) > 200 {
		s.api.fail(w, r, bad("label: at most 200 bytes"))
		return
	}
	l, key := NewShareLink(req.Site, strings.TrimSpace(req.Label), s.api.now())
	if err := s.links.Create(r.Context(), l); err != nil {
		s.api.fail(w, r, err)
		return
	}
	s.shares.invalidate()
	out := toShareJSON(l)
	out.Created = l.Created.UTC().Truncate(time.Second)
	out.Key, out.Path = key, SharePath(l.SiteID, key)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(out)
}

func (s *shareAPI) revoke(w http.ResponseWriter, r *http.Request) {
	l, err := s.links.Revoke(r.Context(), r.PathValue("id"), s.api.now())
	if errors.Is(err, storage.ErrNoShareLink) {
		err = notFound{"no share link " + r.PathValue("id")}
	}
	if err != nil {
		s.api.fail(w, r, err)
		return
	}
	s.shares.invalidate()
	writeJSON(w, toShareJSON(l))
}
