package collector

import (
	"bytes"
	"unicode/utf8"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
)

// parsePixelQuery reads the no-JS pixel's parameters from a raw query
// string into b:
//
//	s  site id (required)
//	u  page URL (optional: the Referer header stands in when absent)
//	r  referrer URL
//	w  viewport width in CSS pixels, decimal, at most 100000
//
// Values are percent-decoded ('+' is a space) and sanitised to valid UTF-8;
// unknown keys are ignored and the first occurrence of a key wins. It
// returns false for a missing site or a malformed width: the pixel still
// answers its GIF, but nothing is stored.
//
// It is written here rather than taken from fasthttp's Args so that it
// decodes only the keys it needs, into the hit's scratch, and can be
// fuzzed on its own.
func parsePixelQuery(q []byte, sc *scratch, b *beacon) bool {
	var seenS, seenU, seenR, seenW bool
	for len(q) > 0 {
		var pair []byte
		pair, q, _ = bytes.Cut(q, []byte{'&'})
		key, val, _ := bytes.Cut(pair, []byte{'='})
		if len(key) != 1 {
			continue
		}
		switch key[0] {
		case 's':
			if !seenS {
				seenS = true
				b.site = sc.queryValue(val)
			}
		case 'u':
			if !seenU {
				seenU = true
				b.url = mote.Truncate(sc.queryValue(val), maxURLLen)
			}
		case 'r':
			if !seenR {
				seenR = true
				b.ref = mote.Truncate(sc.queryValue(val), maxURLLen)
			}
		case 'c':
			// The consent signal: c=1 and nothing else.
			b.consent = string(val) == "1"
		case 'w':
			if !seenW {
				seenW = true
				w, ok := parseWidth(val)
				if !ok {
					return false
				}
				b.width = w
			}
		}
	}
	return b.site != ""
}

// parseWidth accepts "" (unknown, 0) or decimal digits up to maxScreenWidth.
func parseWidth(v []byte) (int64, bool) {
	if len(v) > 6 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= maxScreenWidth
}

// queryValue percent-decodes v ('+' is a space; a '%' not followed by two
// hex digits stays literal) and sanitises it to valid UTF-8. It aliases v
// when nothing needs decoding.
func (s *scratch) queryValue(v []byte) string {
	if bytes.IndexByte(v, '%') < 0 && bytes.IndexByte(v, '+') < 0 {
		return s.validString(v)
	}
	mark := len(s.buf)
	s.buf = enrich.AppendQueryUnescape(s.buf, v)
	decoded := s.buf[mark:]
	if utf8.Valid(decoded) {
		return s.since(mark)
	}
	// Sanitise into fresh space after the decoded bytes; the decoded
	// copy is simply abandoned until the next request resets scratch.
	clean := len(s.buf)
	s.buf = appendValid(s.buf, s.buf[mark:clean])
	return s.since(clean)
}
