package dashboards

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The Host check stops DNS rebinding. A web page in a browser on the
// admin's machine can point its own name at 127.0.0.1 and then read, as
// same-origin, whatever a loopback client may read: with no password,
// every statistic, and share links and campaigns it creates. The
// browser still sends the page's name in Host, so a listener without a
// password answers only Host names that cannot be rebound (localhost and
// loopback addresses, the names a browser never resolves through DNS)
// plus the names the operator lists in Config.AllowedHosts. With a
// password, the list (when not empty) is the only names answered.
//
// /metrics and /healthz are left out of the check: monitors address the
// listener by whatever IP or service name they reach it under, and the
// counters say nothing about a visitor.

// hostGuard refuses requests whose Host is not allowed, except to the
// monitoring routes.
type hostGuard struct {
	open    bool            // no password: loopback names are allowed too
	allowed map[string]bool // lower-case host names or addresses, no port
	next    http.Handler
}

func newHostGuard(cfg Config, open bool, next http.Handler) *hostGuard {
	g := &hostGuard{open: open, allowed: map[string]bool{}, next: next}
	for _, h := range cfg.AllowedHosts {
		if h = normalizeHost(h); h != "" {
			g.allowed[h] = true
		}
	}
	return g
}

func (g *hostGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" || r.URL.Path == "/healthz" || g.allows(r.Host) {
		g.next.ServeHTTP(w, r)
		return
	}
	msg := "this admin listener does not answer under this host name: list it in admin.allowed_hosts"
	if g.open {
		msg = "this admin listener has no password, so it answers under localhost and loopback addresses only: list other names in admin.allowed_hosts"
	}
	writeError(w, http.StatusMisdirectedRequest, msg)
}

// allows reports whether the Host header hostPort may be answered.
func (g *hostGuard) allows(hostPort string) bool {
	h := normalizeHost(hostPort)
	if h == "" {
		return false
	}
	if g.allowed[h] {
		return true
	}
	if g.open {
		return loopbackHost(h)
	}
	return len(g.allowed) == 0
}

// normalizeHost returns the host part of a Host header or an
// allowed_hosts entry, lower-case, without port or IPv6 brackets; "" when
// it is not a host.
func normalizeHost(hostPort string) string {
	h := strings.ToLower(strings.TrimSpace(hostPort))
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if h == "" || strings.ContainsAny(h, "/@\\[] ") {
		return ""
	}
	return h
}

// loopbackHost: "localhost" (browsers resolve it to loopback without
// DNS) or a loopback address literal. Subdomains of localhost are not
// included: not every resolver keeps them local.
func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}
