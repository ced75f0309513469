// Package dashboards is the admin listener (net/http): the part of Mote
// that people and monitoring read, as opposed to the public beacon
// listener that browsers write to. It binds to localhost unless configured
// otherwise, because what it serves is for the operator, not the public.
//
// It serves the stats API (api*.go, documented in openapi.yaml), the web
// dashboard (ui/, embedded), the login, API keys and share links
// (access.go, login.go, share.go), the campaigns API that cmd mounts, and
// Prometheus /metrics and /healthz, which stay open. grafana/ holds
// Grafana dashboards for the same tables; cmd/regions generates the
// region names the page shows (ui/regions.json) from GeoLite2 City.
package dashboards
