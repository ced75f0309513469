// Package dashboards is the admin listener (net/http): the part of Mote
// that people and monitoring read, as opposed to the public beacon
// listener that browsers write to. It binds to localhost unless configured
// otherwise, because what it serves is for the operator, not the public.
//
// Today it serves Prometheus /metrics and /healthz; the stats API, the web
// dashboard, share links and CSV export join it here.
package dashboards
