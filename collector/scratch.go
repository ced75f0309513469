package collector

import (
	"unicode/utf8"

	"github.com/mote-analytics/mote/enrich"
)

// scratch is append-only space for strings that cannot alias the request
// (unescaped JSON, percent-decoded query values, sanitised UTF-8). It is
// reset only between requests, never during one: a string handed out
// earlier must not be overwritten. When an append outgrows the buffer Go
// moves it to a new array; earlier strings keep the old one alive, so
// growth costs an allocation but never corrupts a value.
type scratch struct {
	buf []byte
}

func (s *scratch) reset() { s.buf = s.buf[:0] }

// since returns the bytes appended from mark on, as a string.
func (s *scratch) since(mark int) string { return enrich.UnsafeString(s.buf[mark:]) }

// appendValid appends b with every invalid UTF-8 sequence replaced by
// U+FFFD: raw invalid bytes are never stored.
func appendValid(dst, b []byte) []byte {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
			b = b[1:]
			continue
		}
		dst = append(dst, b[:n]...)
		b = b[n:]
	}
	return dst
}

// validString returns b as a string, aliased when it is valid UTF-8 and
// sanitised into sc otherwise.
func (s *scratch) validString(b []byte) string {
	if utf8.Valid(b) {
		return enrich.UnsafeString(b)
	}
	mark := len(s.buf)
	s.buf = appendValid(s.buf, b)
	return s.since(mark)
}
