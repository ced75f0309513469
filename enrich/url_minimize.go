package enrich

import (
	"strings"
	"unicode/utf8"

	"github.com/mote-analytics/mote"
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
	end := authorityEnd(rest)
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
	keep := m.utms(query)
	keepRoute := m.utms(routeQuery)

	start := len(m.buf)
	switch {
	case path == "":
		path = "/"
	case path[0] == '\\':
		// The backslash that ended the authority (see authorityEnd) is
		// the path's first slash, as a browser reads it.
		m.buf = append(m.buf, '/')
		path = path[1:]
	}
	m.buf = appendPath(m.buf, path)
	if keep {
		m.appendKept(query)
	}
	if route != "" {
		m.buf = append(m.buf, '#')
		if route[0] == '!' {
			m.buf = append(m.buf, '!')
			route = route[1:]
		}
		m.buf = appendPath(m.buf, route)
		if keepRoute {
			m.appendKept(routeQuery)
		}
	}
	built := capEncoded(m.buf[start:], MaxPathLen)
	if string(built) == path {
		dst.Path = path // unchanged: no copy kept
		m.buf = m.buf[:start]
	} else {
		dst.Path = UnsafeString(built)
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

// utms fills the campaign fields from query; the first occurrence that
// is not empty once decoded wins. It also reports whether query holds an
// allow-listed key, so that appendKept, which must write after the path,
// reads the query a second time only when there is something to keep
// (most URLs have no such key).
func (m *minimizer) utms(query string) (keep bool) {
	for query != "" {
		var key, val string
		key, val, query = nextPair(query)
		if !keep {
			_, keep = m.keep(key)
		}
		if f := m.utmField(key); f != nil && *f == "" {
			*f = m.decodeValue(val)
		}
	}
	return keep
}

// nextPair splits the first "key=value" pair off query, as cutting at the
// first '&' and then at the pair's first '=' would.
func nextPair(query string) (key, val, rest string) {
	pair := query
	if i := strings.IndexByte(query, '&'); i >= 0 {
		pair, rest = query[:i], query[i+1:]
	}
	if i := strings.IndexByte(pair, '='); i >= 0 {
		return pair[:i], pair[i+1:], rest
	}
	return pair, "", rest
}

// utmField returns the campaign field that key (utm_source, UTM_Medium,
// ...) fills, or nil.
func (m *minimizer) utmField(key string) *string {
	var b [len("utm_campaign")]byte
	if len(key) < 5 {
		return nil
	}
	if n, ok := lowerKey(&b, key); ok {
		switch string(b[:n]) { // no allocation: the compiler compares in place
		case "utm_source":
			return &m.dst.UTMSource
		case "utm_medium":
			return &m.dst.UTMMedium
		case "utm_campaign":
			return &m.dst.UTMCampaign
		case "utm_term":
			return &m.dst.UTMTerm
		case "utm_content":
			return &m.dst.UTMContent
		}
		return nil
	}
	if isASCII(key) {
		return nil // longer than any campaign key
	}
	// Unicode folds two non-ASCII letters to ASCII ones ('ſ' to 's', the
	// Kelvin sign to 'k'), so "utm_ſource" is utm_source too.
	if !strings.EqualFold(key[:4], "utm_") {
		return nil
	}
	switch k := key[4:]; {
	case strings.EqualFold(k, "source"):
		return &m.dst.UTMSource
	case strings.EqualFold(k, "medium"):
		return &m.dst.UTMMedium
	case strings.EqualFold(k, "campaign"):
		return &m.dst.UTMCampaign
	case strings.EqualFold(k, "term"):
		return &m.dst.UTMTerm
	case strings.EqualFold(k, "content"):
		return &m.dst.UTMContent
	}
	return nil
}

// lowerKey writes key lower-cased into b and returns its length, or false
// when key is not ASCII or longer than b.
func lowerKey(b *[len("utm_campaign")]byte, key string) (int, bool) {
	if len(key) > len(b) {
		return 0, false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= utf8.RuneSelf {
			return 0, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return len(key), true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// decodeValue percent-decodes a campaign value ('+' is a space), replaces
// invalid UTF-8 and control characters, trims spaces, caps the length and
// redacts e-mail addresses and tokens.
func (m *minimizer) decodeValue(v string) string {
	if n, digits, class := scanText(v, 0); class&(classPercent|classPlus|classUnsafe) == 0 {
		// The usual campaign value ("newsletter", "spring_sale"): printable
		// ASCII with nothing to decode, sanitise or trim, so v is its own
		// decoding and only the cap and the redaction apply.
		switch {
		case n > MaxUTMLen:
			return redact(mote.Truncate(v, MaxUTMLen))
		case mayBeEmail(class) && looksLikeEmail(v):
			return RedactedEmail
		case mayBeToken(n, digits) && looksLikeToken(v):
			return RedactedToken
		}
		return v
	}
	start := len(m.buf)
	m.buf = AppendQueryUnescape(m.buf, v)
	out := sanitizeText(m.buf[start:])
	m.buf = append(m.buf[:start], out...)
	s := strings.TrimSpace(UnsafeString(m.buf[start:]))
	s = redact(mote.Truncate(s, MaxUTMLen))
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
		var key, val string
		key, val, query = nextPair(query)
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
		val = mote.Truncate(val, MaxQueryValueLen)
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
//
// One scan of each segment finds its end and tells whether the segment can
// be an e-mail address (it holds '@' or '%'), a token (16 bytes or more, or
// nine digits) or need escapes; looksLikeEmail, looksLikeToken and
// appendSafe run only when it can, so a plain segment ("blog") costs the
// scan and one copy.
func appendPath(dst []byte, p string) []byte {
	for {
		n, digits, class := scanText(p, classSlash|classSemi)
		seg, end := p[:n], n
		if n < len(p) && p[n] == ';' {
			if j := strings.IndexByte(p[n:], '/'); j >= 0 {
				end = n + j
			} else {
				end = len(p)
			}
		}
		switch {
		case mayBeEmail(class) && looksLikeEmail(seg):
			dst = append(dst, RedactedEmail...)
		case mayBeToken(len(seg), digits) && looksLikeToken(seg):
			dst = append(dst, RedactedToken...)
		case class&classUnsafe != 0:
			dst = appendSafe(dst, seg, false)
		default:
			dst = append(dst, seg...)
		}
		if end == len(p) {
			return dst
		}
		dst = append(dst, '/')
		p = p[end+1:]
	}
}
