package enrich

import (
	"strings"

	"github.com/mote-analytics/mote"
)

// Caps on what SplitURL returns. A browser never produces a longer host
// (DNS limits a name to 253 bytes); a longer path is almost always a
// tracking token or garbage and would only bloat the events table.
const (
	MaxHostLen = 253
	MaxPathLen = 1024
)

// SplitURL extracts the lower-case host and the path of an absolute http or
// https URL, dropping user info, port, query string and fragment: the query
// and fragment are where e-mail addresses, session tokens and campaign junk
// live, and a later step re-adds only allow-listed keys (utm_*).
//
// The path is returned as sent (still percent-encoded, the form a browser's
// location.href uses), "/" when empty, and cut to MaxPathLen bytes on a rune
// boundary. ok is false when raw is not an http(s) URL or its host is empty,
// longer than MaxHostLen, or contains bytes no host name can hold (a
// bracketed IPv6 literal is accepted and kept with its brackets).
//
// SplitURL does not allocate: host and path are substrings of raw, except
// when the host holds upper-case ASCII letters, which costs one allocation
// for the lower-cased copy. Browsers always send lower-case hosts, so the
// hit path stays allocation-free.
func SplitURL(raw string) (host, path string, ok bool) {
	rest, ok := cutScheme(raw)
	if !ok {
		return "", "", false
	}
	end := authorityEnd(rest)
	authority := rest[:end]
	rest = rest[end:]

	host, ok = hostOf(authority)
	if !ok {
		return "", "", false
	}

	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	switch {
	case rest == "":
		rest = "/"
	case rest[0] == '\\':
		// The backslash that ended the authority (see authorityEnd) is
		// the path's first slash, as a browser reads it (and as
		// MinimizeURL stores it). Only such a URL costs an allocation.
		rest = "/" + rest[1:]
	}
	return host, mote.Truncate(rest, MaxPathLen), true
}

// cutScheme returns what follows "http://" or "https://" (any case).
func cutScheme(raw string) (string, bool) {
	const s5, s4 = "https://", "http://"
	switch {
	case len(raw) >= len(s5) && strings.EqualFold(raw[:len(s5)], s5):
		return raw[len(s5):], true
	case len(raw) >= len(s4) && strings.EqualFold(raw[:len(s4)], s4):
		return raw[len(s4):], true
	}
	return "", false
}

// authorityEnd returns the index of the first '/', '\\', '?' or '#' in
// rest, or len(rest): where the authority of a URL without its scheme
// ends. A backslash ends it as browsers (the WHATWG URL standard) read
// http(s) URLs: https://evil.com\@probe.example/ is a page of evil.com,
// and must not pass the site gate as probe.example. A loop over the few
// bytes of a host beats IndexAny, which builds a set.
func authorityEnd(rest string) int {
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c == '/' || c == '\\' || c == '?' || c == '#' {
			return i
		}
	}
	return len(rest)
}

// hostOf reduces an authority (userinfo@host:port) to a validated,
// lower-case host without a trailing dot.
func hostOf(authority string) (string, bool) {
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	host := authority
	if strings.HasPrefix(host, "[") {
		i := strings.IndexByte(host, ']')
		if i < 0 || !validPort(host[i+1:]) {
			return "", false
		}
		host = host[:i+1]
		for j := 1; j < len(host)-1; j++ {
			c := host[j]
			if !(c == ':' || c == '.' || IsHex(c)) {
				return "", false
			}
		}
		if len(host) == 2 {
			return "", false
		}
	} else {
		if i := strings.IndexByte(host, ':'); i >= 0 {
			if !validPort(host[i:]) {
				return "", false
			}
			host = host[:i]
		}
		host = strings.TrimSuffix(host, ".")
		// Empty labels ("", ".a", "a..b") are not host names. One loop
		// checks the bytes and the labels and notes upper case.
		if host == "" || host[0] == '.' || host[len(host)-1] == '.' {
			return "", false
		}
		upper := false
		for j := 0; j < len(host); j++ {
			c := host[j]
			switch {
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_':
			case c >= 'A' && c <= 'Z':
				upper = true
			case c == '.' && host[j-1] != '.': // j > 0: host[0] is not '.'
			default:
				return "", false
			}
		}
		if len(host) > MaxHostLen {
			return "", false
		}
		if upper {
			host = strings.ToLower(host)
		}
		return host, true
	}
	if len(host) > MaxHostLen {
		return "", false
	}
	return lowerASCII(host), true
}

// validPort accepts "" or ":" followed by at most five digits.
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) > 6 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lowerASCII lower-cases s, allocating only when s has an upper-case letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// ReferrerHost reduces a referrer URL to its host: the path of the page a
// visitor came from can identify them (a search query, a private document)
// and is not needed for "where do visitors come from". It returns "" when
// raw is not an http(s) URL or when its host equals pageHost (a
// self-referral: navigation inside the site is not a source).
func ReferrerHost(raw, pageHost string) string {
	host, _, ok := SplitURL(raw)
	if !ok || strings.EqualFold(host, strings.TrimSuffix(pageHost, ".")) {
		return ""
	}
	return host
}

// AppendQueryUnescape appends v percent-decoded as a query value ('+' is a
// space; a '%' not followed by two hex digits stays literal) to dst. The
// result may hold invalid UTF-8; callers sanitise it.
func AppendQueryUnescape[S ~string | ~[]byte](dst []byte, v S) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(v) && IsHex(v[i+1]) && IsHex(v[i+2]):
			c = Unhex(v[i+1])<<4 | Unhex(v[i+2])
			i += 2
		}
		dst = append(dst, c)
	}
	return dst
}
