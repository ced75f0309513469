package mote

import "unicode/utf8"

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence:
// every capped field (paths, names, props, user agent parts) and every
// excerpt of an engine's message is cut with it, so what is stored or
// logged stays valid UTF-8 when s was. It looks back at most
// utf8.UTFMax-1 bytes for the start of the cut rune: further back there is
// none, the bytes are not UTF-8, and walking on would cut a run of stray
// continuation bytes ("/\x8e\x8e...", found by FuzzSplitURL) down to
// nothing. It never allocates.
func Truncate[T ~string | ~[]byte](s T, n int) T {
	if len(s) <= n {
		return s
	}
	for i := n; i > 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i]
		}
	}
	return s[:n]
}
