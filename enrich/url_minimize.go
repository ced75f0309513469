package enrich

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Caps on minimised values. A campaign parameter longer than MaxUTMLen or
// a kept query value longer than MaxQueryValueLen is cut: marketing labels
// are short, and anything longer is a token or junk.
const (
	MaxUTMLen        = 200
	MaxQueryValueLen = 200
	maxKeptKeys      = 8
)

// Redaction markers. A path segment, kept query value or campaign value
// that looks like an e-mail address is replaced whole by RedactedEmail; one
// that looks like a secret or an identifier (long hex or base64 runs,
// UUIDs, JWTs, digit runs of phone or card length) by RedactedToken. The
// marker keeps the page's shape ("/reset/:token") so pages still group.
const (
	RedactedEmail = ":email"
	RedactedToken = ":token"
)

// DefaultQueryKeys are the query keys every site keeps besides utm_*: the
// conventional referral tags.
var DefaultQueryKeys = []string{"ref", "source"}

// URLOptions are a site's URL minimisation settings. The zero value keeps
// only ref and source and drops every fragment.
type URLOptions struct {
	// HashRouting keeps the "#/route" (or "#!/route") part of the URL, for
	// single-page apps that route by fragment. It is minimised like the
	// path; any other fragment ("#section", "#access_token=...") is dropped.
	HashRouting bool
	// KeepKeys are extra query keys to keep (matched without regard to
	// ASCII case), e.g. "q" for an on-site search page. Values are still
	// redacted when they look like e-mail addresses or tokens.
	KeepKeys []string
}

// Page is a minimised page URL. Its strings point into the raw URL or into
// the Page's own scratch buffer, so they are valid until the next
// MinimizeURL on the same Page (and as long as the raw URL): whoever keeps
// them longer copies them, as the spool copies an Event.
type Page struct {
	Host string
	// Path is the path, then "?" and the kept query keys (allow-listed
	// keys only, in URL order, first occurrence of each), then with hash
	// routing "#" and the minimised route. It stays percent-encoded as the
	// browser sent it; bytes no URL may hold are percent-encoded.
	Path string

	UTMSource, UTMMedium, UTMCampaign, UTMTerm, UTMContent string

	buf []byte // scratch; reused across calls
}

// MinimizeURL reduces an absolute http(s) URL to what Mote stores: host,
// path with redactions, allow-listed query keys and the campaign (utm_*)
// values, decoded. It reports false (and leaves dst empty) when raw is not
// an http(s) URL with a valid host (see SplitURL).
//
// After warm-up MinimizeURL does not allocate: results are substrings of
// raw, or built in dst's scratch buffer.
func MinimizeURL(raw string, opt URLOptions, dst *Page) bool {
	buf := dst.buf[:0]
	*dst = Page{buf: buf}
	rest, ok := cutScheme(raw)
	if !ok {
		return false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, ok := hostOf(rest[:end])
	if !ok {
		return false
	}
	rest = rest[end:]
	path, query, frag := rest, "", ""
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path, frag = path[:i], path[i+1:]
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	var route, routeQuery string
	if opt.HashRouting && (strings.HasPrefix(frag, "/") || strings.HasPrefix(frag, "!/")) {
		route = frag
		if i := strings.IndexByte(route, '?'); i >= 0 {
			route, routeQuery = route[:i], route[i+1:]
		}
	}

	m := minimizer{buf: buf, keys: opt.KeepKeys, dst: dst}
	m.utms(query)
	m.utms(routeQuery)

	start := len(m.buf)
	if path == "" {
		path = "/"
	}
	m.buf = appendPath(m.buf, path)
	m.appendKept(query)
	if route != "" {
		m.buf = append(m.buf, '#')
		if route[0] == '!' {
			m.buf = append(m.buf, '!')
			route = route[1:]
		}
		m.buf = appendPath(m.buf, route)
		m.appendKept(routeQuery)
	}
	built := capEncoded(m.buf[start:], MaxPathLen)
	if string(built) == path {
		dst.Path = path // unchanged: no copy kept
		m.buf = m.buf[:start]
	} else {
		dst.Path = bytesString(built)
	}
	dst.Host = host
	dst.buf = m.buf
	return true
}

// minimizer carries one MinimizeURL call's state.
type minimizer struct {
	buf  []byte
	keys []string // URLOptions.KeepKeys
	dst  *Page
}

// utms fills the campaign fields from query; the first occurrence wins.
func (m *minimizer) utms(query string) {
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		key, val, _ := strings.Cut(pair, "=")
		if len(key) < 5 || !strings.EqualFold(key[:4], "utm_") {
			continue
		}
		var f *string
		switch k := key[4:]; {
		case strings.EqualFold(k, "source"):
			f = &m.dst.UTMSource
		case strings.EqualFold(k, "medium"):
			f = &m.dst.UTMMedium
		case strings.EqualFold(k, "campaign"):
			f = &m.dst.UTMCampaign
		case strings.EqualFold(k, "term"):
			f = &m.dst.UTMTerm
		case strings.EqualFold(k, "content"):
			f = &m.dst.UTMContent
		default:
			continue
		}
		if *f == "" {
			*f = m.decodeValue(val)
		}
	}
}

// decodeValue percent-decodes a campaign value ('+' is a space), replaces
// invalid UTF-8 and control characters, trims spaces, caps the length and
// redacts e-mail addresses and tokens.
func (m *minimizer) decodeValue(v string) string {
	start := len(m.buf)
	m.buf = AppendQueryUnescape(m.buf, v)
	out := sanitizeText(m.buf[start:])
	m.buf = append(m.buf[:start], out...)
	s := strings.TrimSpace(bytesString(m.buf[start:]))
	s = truncate(s, MaxUTMLen)
	switch {
	case looksLikeEmail(s):
		s = RedactedEmail
	case looksLikeToken(s):
		s = RedactedToken
	}
	if s == "" || s == v {
		m.buf = m.buf[:start]
		if s == v {
			return v
		}
	}
	return s
}

// sanitizeText rewrites b in place: invalid UTF-8 becomes U+FFFD (which may
// need more room, so the result is returned and may be a new slice) and
// control characters become spaces.
func sanitizeText(b []byte) []byte {
	clean := true
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				b[i] = ' '
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+8) // rare: invalid UTF-8 in a campaign value
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// appendKept appends the allow-listed keys of query as "?k=v&k=v" (or
// "&k=v" after earlier kept keys), each key once, values redacted.
func (m *minimizer) appendKept(query string) {
	first := true
	var seen [maxKeptKeys]string
	nseen := 0
	for query != "" && nseen < maxKeptKeys {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		key, val, _ := strings.Cut(pair, "=")
		canon, ok := m.keep(key)
		if !ok {
			continue
		}
		dup := false
		for _, s := range seen[:nseen] {
			dup = dup || s == canon
		}
		if dup {
			continue
		}
		seen[nseen] = canon
		nseen++
		if first {
			m.buf = append(m.buf, '?')
			first = false
		} else {
			m.buf = append(m.buf, '&')
		}
		m.buf = append(m.buf, canon...)
		m.buf = append(m.buf, '=')
		val = truncate(val, MaxQueryValueLen)
		switch {
		case looksLikeEmail(val):
			m.buf = append(m.buf, RedactedEmail...)
		case looksLikeToken(val):
			m.buf = append(m.buf, RedactedToken...)
		default:
			m.buf = appendSafe(m.buf, val, true)
		}
	}
}

// keep reports whether key is allow-listed and returns its canonical
// (allow-list) spelling.
func (m *minimizer) keep(key string) (string, bool) {
	for _, k := range DefaultQueryKeys {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	for _, k := range m.keys {
		if k != "" && strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

// appendPath appends p ("/a/b") segment by segment: matrix parameters
// (";jsessionid=...") dropped, e-mail and token segments redacted, bytes no
// URL may hold percent-encoded.
func appendPath(dst []byte, p string) []byte {
	for i := 0; ; i++ {
		seg, rest, more := strings.Cut(p, "/")
		if i > 0 || seg != "" {
			if j := strings.IndexByte(seg, ';'); j >= 0 {
				seg = seg[:j]
			}
			switch {
			case looksLikeEmail(seg):
				dst = append(dst, RedactedEmail...)
			case looksLikeToken(seg):
				dst = append(dst, RedactedToken...)
			default:
				dst = appendSafe(dst, seg, false)
			}
		}
		if !more {
			return dst
		}
		dst = append(dst, '/')
		p = rest
	}
}

// appendSafe appends s, percent-encoding control bytes, spaces, the
// characters no URL may hold unescaped, and invalid UTF-8 bytes. In a
// query value '#' and '&' are encoded too so the value stays one value.
func appendSafe(dst []byte, s string, value bool) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size > 1 {
				dst = append(dst, s[i:i+size]...)
				i += size
				continue
			}
		} else if !unsafeByte(c) && !(value && (c == '#' || c == '&')) {
			dst = append(dst, c)
			i++
			continue
		}
		dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		i++
	}
	return dst
}

func unsafeByte(c byte) bool { return unsafeBytes[c] }

// unsafeBytes marks the bytes no stored URL holds raw: controls, space,
// DEL and "<>\^`{|}, so that a lookup replaces a search per byte.
var unsafeBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c <= ' ' || c == 0x7f || strings.IndexByte("\"<>\\^`{|}", byte(c)) >= 0
	}
	return t
}()

// capEncoded cuts b to at most n bytes without splitting a UTF-8 sequence
// or a percent escape.
func capEncoded(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	i := n
	for i > 0 && !utf8.RuneStart(b[i]) {
		i--
	}
	b = b[:i]
	if j := len(b) - 2; j >= 0 && b[j] == '%' {
		b = b[:j]
	} else if j := len(b) - 1; j >= 0 && b[j] == '%' {
		b = b[:j]
	}
	return b
}

// looksLikeEmail reports whether s holds local@domain.tld, with the '@'
// raw or percent-encoded (%40).
func looksLikeEmail(s string) bool {
	for i := 0; i < len(s); i++ {
		at := 0
		switch {
		case s[i] == '@':
			at = 1
		case s[i] == '%' && i+2 < len(s) && s[i+1] == '4' && s[i+2] == '0':
			at = 3
		default:
			continue
		}
		if i == 0 {
			continue
		}
		domain := s[i+at:]
		if d := strings.IndexByte(domain, '.'); d > 0 && d < len(domain)-1 {
			return true
		}
		for d := 1; d+3 < len(domain); d++ {
			if domain[d] == '%' && domain[d+1] == '2' && (domain[d+2] == 'E' || domain[d+2] == 'e') {
				return true
			}
		}
	}
	return false
}

// looksLikeToken reports whether s (a path segment or a value) looks like a
// secret or an identifier of a person rather than a page name:
//
//   - a JWT (starts with "eyJ", the base64 of `{"`);
//   - 16 or more hex digits, with dashes allowed (UUIDs, hashes, hex ids),
//     at least one of them a decimal digit;
//   - a run of 16 or more letters and digits with both (base64 and random
//     ids), or of 24 or more letters mixing cases;
//   - 9 or more digits in a run that may hold spaces, dots, dashes,
//     parentheses and '+' (phone and card numbers);
//   - 16 or more characters ending in '=' padding.
//
// Slugs ("how-to-grow-2024") are short runs between dashes and are kept.
func looksLikeToken(s string) bool {
	if len(s) < 16 {
		// Only the rule of nine digits can match a short value: count
		// them before paying for the full scan below.
		digits := 0
		for i := 0; i < len(s); i++ {
			if s[i] >= '0' && s[i] <= '9' {
				digits++
			}
		}
		if digits < 9 {
			return false
		}
	}
	if len(s) >= 16 && strings.HasPrefix(s, "eyJ") {
		return true
	}
	if len(s) >= 16 && s[len(s)-1] == '=' {
		return true
	}
	hexN, hexDigit, allHex := 0, false, true
	run, runDigit, runLetter, runUpper, runLower := 0, false, false, false, false
	digits := 0
	for i := 0; i <= len(s); i++ {
		var c byte
		if i < len(s) {
			c = s[i]
		}
		if c == '%' && i+2 < len(s) && s[i+1] == '2' && s[i+2] == '0' {
			// An encoded space: a separator inside a phone number.
			if run >= 16 && runDigit && runLetter || run >= 24 && runUpper && runLower {
				return true
			}
			run, runDigit, runLetter, runUpper, runLower = 0, false, false, false, false
			allHex = false
			i += 2
			continue
		}
		isD := c >= '0' && c <= '9'
		isU := c >= 'A' && c <= 'Z'
		isL := c >= 'a' && c <= 'z'
		// hex-only check over the whole string
		switch {
		case i == len(s):
		case isHex(c):
			hexN++
			hexDigit = hexDigit || isD
		case c != '-':
			allHex = false
		}
		// alphanumeric runs
		if isD || isU || isL {
			run++
			runDigit = runDigit || isD
			runLetter = runLetter || isU || isL
			runUpper = runUpper || isU
			runLower = runLower || isL
		} else {
			if run >= 16 && runDigit && runLetter || run >= 24 && runUpper && runLower {
				return true
			}
			run, runDigit, runLetter, runUpper, runLower = 0, false, false, false, false
		}
		// digit runs with number punctuation
		switch {
		case isD:
			digits++
			if digits >= 9 {
				return true
			}
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')' || c == '+':
		default:
			digits = 0
		}
	}
	return allHex && hexN >= 16 && hexDigit
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// bytesString views b as a string without copying. The caller guarantees
// that b is not written to while the string is in use (Page's contract).
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
