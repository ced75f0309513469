package collector

import (
	"unicode/utf8"
	"unsafe"
)

// b2s views b as a string without copying. The collector uses it only for
// request-scoped bytes (fasthttp's buffers, a hit's scratch) that are not
// written again before the handler returns; the Sink copies what it keeps.
func b2s(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

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
func (s *scratch) since(mark int) string { return b2s(s.buf[mark:]) }

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
		return b2s(b)
	}
	mark := len(s.buf)
	s.buf = appendValid(s.buf, b)
	return s.since(mark)
}

// capString cuts v to at most n bytes without splitting a UTF-8 sequence.
func capString(v string, n int) string {
	if len(v) <= n {
		return v
	}
	i := n
	for i > 0 && !utf8.RuneStart(v[i]) {
		i--
	}
	return v[:i]
}
