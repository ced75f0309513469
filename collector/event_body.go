package collector

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
)

// The beacon body of POST /api/event is one flat JSON object:
//
//	{
//	  "s": "site-id",                     site id (required)
//	  "n": "pageview",                    "pageview" (default when absent),
//	                                      "engagement", or a custom event name
//	  "u": "https://example.com/pricing", page URL (required)
//	  "r": "https://www.google.com/",     referrer URL
//	  "w": 1280,                          viewport width in CSS pixels
//	  "c": 1,                             consent given (1/true) or not
//	  "p": {"plan": "pro", "seats": 3},   props: string, number or bool values
//	  "t": 15300,                         engagement: visible time in ms
//	  "d": 80                             engagement: max scroll depth, percent
//	}
//
// Unknown keys are skipped (whatever their value, nested up to 32 levels),
// so an older collector accepts a newer tracker; a key given twice keeps
// its last value; null counts as absent. Props keep the first 30 distinct
// non-empty keys, keys are cut to 300 bytes and values to 2000; numbers
// are stored as sent and booleans as "true"/"false". An object or array as
// a prop value is an error, so is anything that is not JSON.
//
// The scanner is this package's own because the object is small and fixed:
// it decodes in place without allocating (strings alias the body unless
// they hold escapes or invalid UTF-8, which go to the hit's scratch), and
// it never recurses deeper than maxJSONDepth.

// errMalformed is what parseEventBody returns for a body that is not a
// beacon: the caller answers 400 and does not need to know more; the
// reason is not worth a log line.
var errMalformed = errors.New("malformed beacon body")

// errUnprintableName: the event name has no character a reader could see
// (it is empty, or was only control characters or spaces).
var errUnprintableName = errors.New("unprintable event name")

// jsonScanner walks one body. Its methods report failure with ok=false.
type jsonScanner struct {
	b  []byte
	i  int
	sc *scratch
	// cleaned: a string had control characters removed (see text.go).
	cleaned bool
}

// parseEventBody parses body into b, decoding strings into sc.
func parseEventBody(body []byte, sc *scratch, b *beacon) error {
	s := jsonScanner{b: body, sc: sc}
	if !s.object(b) {
		return errMalformed
	}
	s.ws()
	if s.i != len(s.b) || b.site == "" || b.url == "" {
		return errMalformed
	}
	b.cleaned = s.cleaned
	if b.hasName && !printable(b.name) {
		return errUnprintableName
	}
	return nil
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *jsonScanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jsonScanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// object parses the top-level object.
func (s *jsonScanner) object(b *beacon) bool {
	return s.members(func(key string) bool { return s.field(key, b) })
}

// members parses an object, decoding each key and leaving its value to
// value, which reads it and reports success. The top-level object and the
// props share it; skip has its own loop, which passes over keys without
// decoding them.
func (s *jsonScanner) members(value func(key string) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.eat(':') || !value(key) {
			return false
		}
		if !s.eat(',') {
			return s.eat('}')
		}
	}
}

// field parses the value of one top-level key into b.
func (s *jsonScanner) field(key string, b *beacon) bool {
	switch key {
	case "s":
		v, _, ok := s.optStr()
		b.site = v
		return ok
	case "n":
		v, null, ok := s.optStr()
		b.name, b.hasName = mote.Truncate(v, maxNameLen), !null
		return ok
	case "u":
		v, _, ok := s.optStr()
		b.url = mote.Truncate(v, maxURLLen)
		return ok
	case "r":
		v, _, ok := s.optStr()
		b.ref = mote.Truncate(v, maxURLLen)
		return ok
	case "w":
		return s.optInt(&b.width)
	case "t":
		return s.optInt(&b.engagementMS)
	case "d":
		return s.optInt(&b.scroll)
	case "c":
		switch s.peek() {
		case 't', 'f', 'n':
			v, ok := s.literal()
			b.consent = v == "true"
			return ok
		}
		var n int64
		ok := s.optInt(&n)
		b.consent = n != 0
		return ok
	case "p":
		return s.props(b)
	}
	return s.skip(0)
}

// optStr reads a string or null. A repeated key's last value wins, as in
// the browser's JSON.parse, and null counts as a value: {"s":"a","s":null}
// has no site.
func (s *jsonScanner) optStr() (v string, null, ok bool) {
	if s.peek() == 'n' {
		lit, ok := s.literal()
		return "", true, ok && lit == "null"
	}
	v, ok = s.str()
	return v, false, ok
}

// optInt reads a number (saturated to int64, fraction dropped) or null
// (zero, as optStr's null is the empty string).
func (s *jsonScanner) optInt(dst *int64) bool {
	if s.peek() == 'n' {
		lit, ok := s.literal()
		*dst = 0
		return ok && lit == "null"
	}
	raw, ok := s.number()
	if !ok {
		return false
	}
	*dst = numberToInt(raw)
	return true
}

// props parses the "p" object. A repeated "p" replaces the earlier one,
// as a repeated "s" does; inside one object the first of a repeated prop
// key is kept (addProp).
func (s *jsonScanner) props(b *beacon) bool {
	b.propKeys, b.propValues = b.propKeys[:0], b.propValues[:0]
	if s.peek() == 'n' {
		lit, ok := s.literal()
		return ok && lit == "null"
	}
	return s.members(func(key string) bool { return s.prop(key, b) })
}

// prop parses the value of one prop and keeps it in b.
func (s *jsonScanner) prop(key string, b *beacon) bool {
	var val string
	ok, keep := false, true
	switch c := s.peek(); {
	case c == '"':
		val, ok = s.str()
	case c == '-' || c >= '0' && c <= '9':
		var raw []byte
		raw, ok = s.number()
		val = enrich.UnsafeString(raw)
	case c == 't' || c == 'f' || c == 'n':
		val, ok = s.literal()
		keep = val != "null" // a null prop is an absent prop
	default:
		return false // objects, arrays and garbage are not prop values
	}
	if ok && keep {
		b.addProp(key, val)
	}
	return ok
}

// addProp keeps key=val unless the key is empty, already present, or the
// prop list is full.
func (b *beacon) addProp(key, val string) {
	key = mote.Truncate(key, maxPropKeyLen)
	if key == "" || len(b.propKeys) >= maxProps {
		return
	}
	for _, k := range b.propKeys {
		if k == key {
			return
		}
	}
	b.propKeys = append(b.propKeys, key)
	b.propValues = append(b.propValues, mote.Truncate(val, maxPropValLen))
}

// literal reads true, false or null.
func (s *jsonScanner) literal() (string, bool) {
	rest := s.b[s.i:]
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(rest) >= len(lit) && string(rest[:len(lit)]) == lit {
			s.i += len(lit)
			return lit, true
		}
	}
	return "", false
}

// number validates a JSON number at the cursor and returns its bytes.
func (s *jsonScanner) number() ([]byte, bool) {
	s.ws()
	start, b := s.i, s.b
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	ok := true
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i, _ = digits(b, i)
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		if i, ok = digits(b, i+1); !ok {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, ok = digits(b, i); !ok {
			return nil, false
		}
	}
	s.i = i
	return b[start:i], true
}

// digits passes over the decimal digits from b[i] on and returns the
// index after them, and whether there was at least one (a fraction and an
// exponent must have one).
func digits(b []byte, i int) (int, bool) {
	from := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i, i > from
}

// numberToInt converts a validated JSON number, saturating at the int64
// range and dropping any fraction: widths, milliseconds and percentages
// are whole numbers, and a sender's 1280.5 is still 1280.
func numberToInt(raw []byte) int64 {
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			// Fraction or exponent: rare, take the slow exact path.
			f, _ := strconv.ParseFloat(enrich.UnsafeString(raw), 64)
			switch {
			case f >= math.MaxInt64:
				return math.MaxInt64
			case f <= math.MinInt64:
				return math.MinInt64
			}
			return int64(f)
		}
		if n > (math.MaxInt64-9)/10 {
			if neg {
				return math.MinInt64
			}
			return math.MaxInt64
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		return -n
	}
	return n
}

// str reads a JSON string. It aliases the body when the string has no
// escapes and is valid UTF-8; otherwise it decodes into scratch, turning
// invalid UTF-8 and lone surrogates into U+FFFD.
func (s *jsonScanner) str() (string, bool) {
	if s.peek() != '"' {
		return "", false
	}
	s.i++
	start := s.i
	escaped, high, del := false, false, false
	for {
		if s.i >= len(s.b) {
			return "", false
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !escaped && !del && (!high || plainText(raw)) {
				return enrich.UnsafeString(raw), true
			}
			return s.decode(raw)
		case c == '\\':
			escaped = true
			s.i += 2 // the escaped byte is checked by decode
		case c < 0x20:
			return "", false
		case c >= 0x80:
			high = true
			s.i++
		case c == 0x7f:
			del = true
			s.i++
		default:
			s.i++
		}
	}
}

// decode unescapes raw (the bytes between the quotes) into scratch,
// turning invalid UTF-8 into U+FFFD and removing control characters.
func (s *jsonScanner) decode(raw []byte) (string, bool) {
	sc := s.sc
	mark := len(sc.buf)
	cleaned := false
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			r, n := utf8.DecodeRune(raw[i:])
			sc.buf, cleaned = appendText(sc.buf, r)
			s.cleaned = s.cleaned || cleaned
			i += n
			continue
		}
		if i+1 >= len(raw) {
			return "", false
		}
		e := raw[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			sc.buf = append(sc.buf, e)
		case 'b':
			sc.buf, cleaned = appendText(sc.buf, '\b')
		case 'f':
			sc.buf, cleaned = appendText(sc.buf, '\f')
		case 'n':
			sc.buf, cleaned = appendText(sc.buf, '\n')
		case 'r':
			sc.buf, cleaned = appendText(sc.buf, '\r')
		case 't':
			sc.buf, cleaned = appendText(sc.buf, '\t')
		case 'u':
			r, ok := hex4(raw[i:])
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if lo, ok := hex4(raw[i+2:]); ok {
						if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
							r2 = d
							i += 6
						}
					}
				}
				r = r2
			}
			sc.buf, cleaned = appendText(sc.buf, r)
		default:
			return "", false
		}
		s.cleaned = s.cleaned || cleaned
	}
	return sc.since(mark), true
}

// hex4 reads four hex digits as a UTF-16 code unit.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		if !enrich.IsHex(c) {
			return 0, false
		}
		r = r<<4 | rune(enrich.Unhex(c))
	}
	return r, true
}

// skip passes over one value of any kind, for keys this version ignores.
func (s *jsonScanner) skip(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	switch c := s.peek(); {
	case c == '"':
		_, ok := s.rawStr()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		_, ok := s.number()
		return ok
	case c == 't' || c == 'f' || c == 'n':
		_, ok := s.literal()
		return ok
	case c == '{':
		s.i++
		if s.eat('}') {
			return true
		}
		for {
			if _, ok := s.rawStr(); !ok || !s.eat(':') || !s.skip(depth+1) {
				return false
			}
			if s.eat(',') {
				continue
			}
			return s.eat('}')
		}
	case c == '[':
		s.i++
		if s.eat(']') {
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if s.eat(',') {
				continue
			}
			return s.eat(']')
		}
	}
	return false
}

// rawStr passes over a string without decoding it, but still checks its
// escapes so that skipped values are JSON too.
func (s *jsonScanner) rawStr() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if _, ok := hex4(s.b[s.i+2:]); !ok {
					return nil, false
				}
				s.i += 6
			default:
				return nil, false
			}
		case c < 0x20:
			return nil, false
		default:
			s.i++
		}
	}
	return nil, false
}
