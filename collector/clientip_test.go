package collector

import (
	"net/netip"
	"strings"
	"testing"
)

// headers is a headerSource over plain strings.
type headers map[string][]string

func (h headers) PeekAll(key string) [][]byte {
	var out [][]byte
	for _, v := range h[key] {
		out = append(out, []byte(v))
	}
	return out
}

var testTrusted = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("2001:db8:ffff::/48"),
}

func TestClientAddr(t *testing.T) {
	proxy := netip.MustParseAddr("10.0.0.1")
	tests := []struct {
		name string
		peer netip.Addr
		h    headers
		want string
	}{
		{"untrusted peer ignores xff", netip.MustParseAddr("198.51.100.1"), headers{"X-Forwarded-For": {"1.2.3.4"}}, "198.51.100.1"},
		{"untrusted mapped peer", netip.MustParseAddr("::ffff:198.51.100.1"), headers{"X-Forwarded-For": {"1.2.3.4"}}, "198.51.100.1"},
		{"no headers", proxy, headers{}, "10.0.0.1"},
		{"one hop", proxy, headers{"X-Forwarded-For": {"203.0.113.5"}}, "203.0.113.5"},
		{"spoofed left part", proxy, headers{"X-Forwarded-For": {"6.6.6.6, 203.0.113.5"}}, "203.0.113.5"},
		{"trusted hops skipped", proxy, headers{"X-Forwarded-For": {"6.6.6.6, 203.0.113.5, 10.1.1.1,10.2.2.2"}}, "203.0.113.5"},
		{"several header lines", proxy, headers{"X-Forwarded-For": {"6.6.6.6, 203.0.113.5", "10.1.1.1"}}, "203.0.113.5"},
		{"ports and brackets", proxy, headers{"X-Forwarded-For": {"[2001:db8::1]:443, 10.1.1.1:8080"}}, "2001:db8::1"},
		{"bare ipv6 with zone", proxy, headers{"X-Forwarded-For": {"fe80::1%eth0"}}, "fe80::1"},
		{"mapped ipv4", proxy, headers{"X-Forwarded-For": {"::ffff:203.0.113.5"}}, "203.0.113.5"},
		{"garbage ends the chain", proxy, headers{"X-Forwarded-For": {"203.0.113.5, nonsense, 10.1.1.1"}}, "10.1.1.1"},
		{"all trusted: leftmost", proxy, headers{"X-Forwarded-For": {"10.3.3.3, 10.1.1.1"}}, "10.3.3.3"},
		{"only garbage", proxy, headers{"X-Forwarded-For": {"unknown"}}, "10.0.0.1"},
		{"empty items", proxy, headers{"X-Forwarded-For": {" , 203.0.113.5 ,, "}}, "203.0.113.5"},
		{"xff wins over forwarded", proxy, headers{"X-Forwarded-For": {"203.0.113.5"}, "Forwarded": {"for=198.51.100.9"}}, "203.0.113.5"},
		{"forwarded", proxy, headers{"Forwarded": {"for=6.6.6.6, for=203.0.113.5;proto=https;by=10.0.0.1"}}, "203.0.113.5"},
		{"forwarded quoted ipv6 port", proxy, headers{"Forwarded": {`For="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"forwarded trusted ipv6 skipped", proxy, headers{"Forwarded": {`for=203.0.113.5, for="[2001:db8:ffff::2]"`}}, "203.0.113.5"},
		{"forwarded quoted comma", proxy, headers{"Forwarded": {`for=203.0.113.5;x="a,b", for=10.1.1.1`}}, "203.0.113.5"},
		{"forwarded obfuscated", proxy, headers{"Forwarded": {"for=203.0.113.5, for=_hidden, for=10.1.1.1"}}, "10.1.1.1"},
		{"forwarded without for", proxy, headers{"Forwarded": {"for=203.0.113.5, proto=https"}}, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clientAddr(testTrusted, tt.peer.Unmap(), tt.h); got.String() != tt.want {
				t.Fatalf("got %v, want %s", got, tt.want)
			}
		})
	}
}

// refXFF is the textbook right-to-left walk over a split X-Forwarded-For,
// the oracle for FuzzForwarded.
func refXFF(trusted []netip.Prefix, peer netip.Addr, xff string) netip.Addr {
	if !isTrusted(trusted, peer) {
		return peer
	}
	var items []string
	for _, it := range strings.Split(xff, ",") {
		if it = strings.Trim(it, " \t"); it != "" {
			items = append(items, it)
		}
	}
	last := peer
	for i := len(items) - 1; i >= 0; i-- {
		a, ok := parseNode([]byte(items[i]))
		if !ok {
			return last
		}
		if !isTrusted(trusted, a) {
			return a
		}
		last = a
	}
	return last
}

func FuzzForwarded(f *testing.F) {
	f.Add("203.0.113.5, 10.1.1.1", `for=203.0.113.5;proto=https, for="[2001:db8:ffff::1]:80"`, true)
	f.Add("[2001:db8::1]:443,garbage,10.9.9.9:1", `for="_x";by=a, For=unknown`, true)
	f.Add("1.2.3.4", "for=1.2.3.4", false)
	f.Add(",,,", `for="[::1`, true)
	f.Fuzz(func(t *testing.T, xff, fwd string, trustedPeer bool) {
		peer := netip.MustParseAddr("198.51.100.1")
		if trustedPeer {
			peer = netip.MustParseAddr("10.0.0.1")
		}
		h := headers{}
		if xff != "" {
			h["X-Forwarded-For"] = []string{xff}
		}
		if fwd != "" {
			h["Forwarded"] = []string{fwd}
		}
		got := clientAddr(testTrusted, peer, h)
		if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
			t.Fatalf("invalid result %v", got)
		}
		if !trustedPeer && got != peer {
			t.Fatalf("untrusted peer's headers believed: %v", got)
		}
		if xff != "" {
			if want := refXFF(testTrusted, peer, xff); got != want {
				t.Fatalf("xff %q: got %v, reference walk says %v", xff, got, want)
			}
		}
		// Forwarded alone must not panic, and when unquoted it must walk
		// like X-Forwarded-For over its for= nodes.
		fw := clientAddr(testTrusted, peer, headers{"Forwarded": {fwd}})
		if !fw.IsValid() || (!trustedPeer && fw != peer) {
			t.Fatalf("forwarded %q gave %v", fwd, fw)
		}
		if fwd != "" && !strings.ContainsAny(fwd, "\"\\") {
			var nodes []string
			for _, elem := range strings.Split(fwd, ",") {
				if strings.Trim(elem, " \t") == "" {
					continue
				}
				node := "-" // an element without for= is garbage
				for _, pair := range strings.Split(elem, ";") {
					if k, v, ok := strings.Cut(strings.Trim(pair, " \t"), "="); ok && strings.EqualFold(strings.Trim(k, " \t"), "for") {
						node = strings.Trim(v, " \t")
						if node == "" {
							node = "-"
						}
					}
				}
				nodes = append(nodes, node)
			}
			if want := refXFF(testTrusted, peer, strings.Join(nodes, ",")); fw != want {
				t.Fatalf("forwarded %q: got %v, reference walk says %v", fwd, fw, want)
			}
		}
	})
}
