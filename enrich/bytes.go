package enrich

import "unsafe"

// Byte-level helpers of the hit path, shared with the collector's parsers
// (which import enrich): one definition each.

// UnsafeString views b as a string without copying. The caller guarantees
// that b is not written to while the string is in use: the collector uses
// it only for request-scoped bytes (fasthttp's buffers, a hit's scratch)
// that are not written again before the handler returns, and enrich for a
// Page's buffer (Page's contract); the Sink copies what it keeps.
func UnsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// IsHex reports whether c is a hexadecimal digit, either case.
func IsHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Unhex is the value of the hexadecimal digit c (IsHex(c) must hold).
func Unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
