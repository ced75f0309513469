package collector

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/mote-analytics/mote/enrich"
)

// The client address is the socket peer unless that peer is a trusted
// proxy. Then the forwarding headers are read right to left: each trusted
// proxy appended the address it saw, so the first address from the right
// that is not a trusted proxy is the client. Anything further left was
// written by the client itself and proves nothing.
//
// When both X-Forwarded-For and Forwarded arrive, X-Forwarded-For is used:
// it is what nginx, HAProxy, cloud load balancers and CDNs maintain, and
// reading a header the proxy does not maintain would let a client choose
// its own address. Operators whose proxy speaks only Forwarded should make
// it drop a client-sent X-Forwarded-For.

// ipWalker finds the client among forwarded addresses given left to right.
// Scanning left to right, the client is the last untrusted address not
// followed by a garbage entry; an unparsable entry ends the chain (a
// proxy writes only addresses it saw), and when every address after it is
// trusted the leftmost of those is the best guess.
type ipWalker struct {
	trusted []netip.Prefix
	cand    netip.Addr // last untrusted address since the last garbage entry
	hop     netip.Addr // first trusted address after cand (or after garbage)
}

func (w *ipWalker) add(a netip.Addr, ok bool) {
	switch {
	case !ok:
		w.cand, w.hop = netip.Addr{}, netip.Addr{}
	case isTrusted(w.trusted, a):
		if !w.hop.IsValid() {
			w.hop = a
		}
	default:
		w.cand, w.hop = a, netip.Addr{}
	}
}

// result returns the client address, or peer when the headers named none.
func (w *ipWalker) result(peer netip.Addr) netip.Addr {
	switch {
	case w.cand.IsValid():
		return w.cand
	case w.hop.IsValid():
		return w.hop
	}
	return peer
}

// addXFF feeds one X-Forwarded-For value ("client, proxy1, proxy2").
func (w *ipWalker) addXFF(v []byte) {
	for len(v) > 0 {
		var item []byte
		item, v, _ = bytes.Cut(v, []byte{','})
		item = trimOWS(item)
		if len(item) == 0 {
			continue // "a,,b" and trailing commas carry no hop
		}
		w.add(parseNode(item))
	}
}

// addForwarded feeds one RFC 7239 Forwarded value:
// `for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"`. Each element
// contributes its for= parameter; an element without one, or with an
// obfuscated or "unknown" node, is garbage and ends the chain.
func (w *ipWalker) addForwarded(v []byte) {
	for len(v) > 0 {
		var elem []byte
		elem, v = cutElement(v, ',')
		elem = trimOWS(elem)
		if len(elem) == 0 {
			continue
		}
		var node []byte
		found := false
		for len(elem) > 0 {
			var pair []byte
			pair, elem = cutElement(elem, ';')
			pair = trimOWS(pair)
			eq := bytes.IndexByte(pair, '=')
			if eq < 0 || !bytes.EqualFold(trimOWS(pair[:eq]), []byte("for")) {
				continue
			}
			node, found = unquote(trimOWS(pair[eq+1:])), true
		}
		if !found {
			w.add(netip.Addr{}, false)
			continue
		}
		w.add(parseNode(node))
	}
}

// cutElement splits v at the first sep outside a quoted string.
func cutElement(v []byte, sep byte) (head, rest []byte) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			return v[:i], v[i+1:]
		}
	}
	return v, nil
}

// unquote strips the quotes of an RFC 7230 quoted-string; escapes are not
// decoded because no address holds a backslash (one makes it garbage).
func unquote(v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// parseNode parses an address as proxies write it: "192.0.2.1",
// "192.0.2.1:8080", "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:443".
// Zones are dropped and IPv4-mapped IPv6 is unmapped, so that trusted
// prefixes match however the address was spelled.
func parseNode(v []byte) (netip.Addr, bool) {
	if len(v) > 0 && v[0] == '[' {
		end := bytes.IndexByte(v, ']')
		if end < 0 || !validPort(v[end+1:]) {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(enrich.UnsafeString(v[1:end]))
		if err != nil || !a.Is6() {
			return netip.Addr{}, false
		}
		return a.WithZone("").Unmap(), true
	}
	if a, err := netip.ParseAddr(enrich.UnsafeString(v)); err == nil {
		return a.WithZone("").Unmap(), true
	}
	// IPv4 with a port: exactly one colon.
	if i := bytes.IndexByte(v, ':'); i > 0 && bytes.IndexByte(v[i+1:], ':') < 0 && validPort(v[i:]) {
		if a, err := netip.ParseAddr(enrich.UnsafeString(v[:i])); err == nil && a.Is4() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// validPort accepts "" or ":" and one to five digits.
func validPort(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	if v[0] != ':' || len(v) < 2 || len(v) > 6 {
		return false
	}
	for _, c := range v[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isTrusted(trusted []netip.Prefix, a netip.Addr) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr converts the socket peer to a netip.Addr without allocating.
func peerAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

// headerSource gives the forwarding header values of one request, in the
// order they arrived (several header lines concatenate, RFC 9110 5.3).
type headerSource interface {
	PeekAll(key string) [][]byte
}

// clientAddr returns the client address of a request from peer.
func clientAddr(trusted []netip.Prefix, peer netip.Addr, h headerSource) netip.Addr {
	if !isTrusted(trusted, peer) {
		return peer
	}
	w := ipWalker{trusted: trusted}
	if xff := h.PeekAll("X-Forwarded-For"); len(xff) > 0 {
		for _, v := range xff {
			w.addXFF(v)
		}
		return w.result(peer)
	}
	for _, v := range h.PeekAll("Forwarded") {
		w.addForwarded(v)
	}
	return w.result(peer)
}

// trimOWS strips the optional whitespace of RFC 9110 (spaces and tabs).
func trimOWS(v []byte) []byte {
	return bytes.Trim(v, " \t")
}
