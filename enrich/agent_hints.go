package enrich

import "strings"

// Brand is one entry of a Sec-CH-UA brand list.
type Brand struct {
	Name    string
	Version string // the "v" parameter, e.g. "124"
}

// maxBrands caps how many brands ParseBrands keeps; browsers send three.
const maxBrands = 8

// ParseBrands parses a Sec-CH-UA header, a structured-field list (RFC 8941)
// of strings with a "v" parameter:
//
//	"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"
//
// and appends the brands to dst, skipping GREASE entries ("Not A;Brand" and
// friends, which Chromium adds to keep servers from depending on the list's
// shape). At most maxBrands brands are kept. ok is false when h is not a
// valid list of strings; then nothing is appended. Names and versions are
// substrings of h unless they contain escapes, so parsing costs no
// allocation for any header a browser sends.
func ParseBrands(h string, dst []Brand) (brands []Brand, ok bool) {
	start := len(dst)
	p := sfParser{s: h}
	p.skipSP()
	if p.done() {
		return dst, true // an empty list
	}
	for {
		name, ok := p.str()
		if !ok {
			return dst[:start], false
		}
		var version string
		for p.peek() == ';' {
			p.i++
			p.skipSP()
			key, ok := p.key()
			if !ok {
				return dst[:start], false
			}
			val := ""
			if p.peek() == '=' {
				p.i++
				if val, ok = p.bareItem(); !ok {
					return dst[:start], false
				}
			}
			if key == "v" {
				version = val
			}
		}
		if !isGreaseBrand(name) && len(dst)-start < maxBrands {
			dst = append(dst, Brand{Name: name, Version: version})
		}
		p.skipOWS()
		if p.done() {
			return dst, true
		}
		if p.peek() != ',' {
			return dst[:start], false
		}
		p.i++
		p.skipOWS()
		if p.done() { // a trailing comma
			return dst[:start], false
		}
	}
}

// isGreaseBrand recognises Chromium's GREASE brands: "Not" and "Brand"
// around punctuation, e.g. "Not A(Brand", "Not/A)Brand", " Not;A Brand".
func isGreaseBrand(name string) bool {
	name = strings.TrimSpace(name)
	return len(name) >= len("NotBrand") && strings.HasPrefix(name, "Not") && strings.HasSuffix(name, "Brand") &&
		strings.ContainsAny(name[3:len(name)-5], " ()-./:;=?_")
}

// ParseSFString reads a header whose value is one structured-field string,
// like Sec-CH-UA-Platform ("Windows") and Sec-CH-UA-Platform-Version
// ("15.0.0"), ignoring parameters. ok is false for anything else.
func ParseSFString(h string) (string, bool) {
	p := sfParser{s: h}
	p.skipSP()
	v, ok := p.str()
	if !ok {
		return "", false
	}
	for p.peek() == ';' { // parameters are allowed; not used
		p.i++
		p.skipSP()
		if _, ok := p.key(); !ok {
			return "", false
		}
		if p.peek() == '=' {
			p.i++
			if _, ok := p.bareItem(); !ok {
				return "", false
			}
		}
	}
	p.skipSP()
	return v, p.done()
}

// ParseSFBoolean reads Sec-CH-UA-Mobile: "?1" is true, "?0" false; ok is
// false for anything else (including an absent header).
func ParseSFBoolean(h string) (v, ok bool) {
	switch strings.Trim(h, " ") {
	case "?1":
		return true, true
	case "?0":
		return false, true
	}
	return false, false
}

// sfParser is a cursor over a structured-field value, implementing the
// subset of RFC 8941 the client hints use: strings, tokens, integers and
// decimals as parameter values, and keys.
type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *sfParser) skipSP() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// str reads an sf-string: printable ASCII in quotes, with \" and \\ the
// only escapes.
func (p *sfParser) str() (string, bool) {
	if p.peek() != '"' {
		return "", false
	}
	p.i++
	start := p.i
	escaped := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\\':
			if p.i+1 >= len(p.s) || (p.s[p.i+1] != '"' && p.s[p.i+1] != '\\') {
				return "", false
			}
			escaped = true
			p.i += 2
		case c == '"':
			v := p.s[start:p.i]
			p.i++
			if escaped {
				v = sfUnescape(v)
			}
			return v, true
		case c < 0x20 || c > 0x7e:
			return "", false
		default:
			p.i++
		}
	}
	return "", false // unterminated
}

func sfUnescape(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// key reads a parameter key: lcalpha or "*", then lcalpha, digits, "_-.*".
func (p *sfParser) key() (string, bool) {
	start := p.i
	if c := p.peek(); !(c >= 'a' && c <= 'z') && c != '*' {
		return "", false
	}
	p.i++
	for p.i < len(p.s) {
		c := p.s[p.i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '*' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], true
}

// bareItem reads a parameter value: a string, a token, a number or a
// boolean. Only strings are unescaped; the others are returned as written.
func (p *sfParser) bareItem() (string, bool) {
	c := p.peek()
	switch {
	case c == '"':
		return p.str()
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			p.i += 2
			return p.s[p.i-1 : p.i], true
		}
		return "", false
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		p.i++
		for p.i < len(p.s) && (p.s[p.i] == '.' || (p.s[p.i] >= '0' && p.s[p.i] <= '9')) {
			p.i++
		}
		if p.s[p.i-1] == '-' || p.s[p.i-1] == '.' {
			return "", false
		}
		return p.s[start:p.i], true
	case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*':
		start := p.i
		p.i++
		for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
			p.i++
		}
		return p.s[start:p.i], true
	}
	return "", false
}

// isTokenChar: tchar (RFC 9110) plus ":" and "/", as sf-token allows.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~:/", c) >= 0
}
