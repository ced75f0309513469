package enrich

import (
	"strings"
	"unicode/utf8"

	"github.com/mote-analytics/mote"
)

// Redaction and escaping of the text MinimizeURL keeps (path segments,
// query values, campaign values): one scan classifies a piece of text, and
// only the checks its classes allow run (an e-mail address needs an '@',
// a token 16 bytes or nine digits).

// redact returns RedactedEmail or RedactedToken in place of a value that
// looks like an e-mail address or a token, else s.
func redact(s string) string {
	switch {
	case looksLikeEmail(s):
		return RedactedEmail
	case looksLikeToken(s):
		return RedactedToken
	}
	return s
}

// Byte classes of scanText.
const (
	classSlash   = 1 << iota // '/'
	classSemi                // ';'
	classDigit               // counts toward looksLikeToken's nine digits
	classAt                  // '@'
	classPercent             // '%': an escape, maybe "%40"
	classPlus                // '+': a space in a query value
	classUnsafe              // a byte appendSafe escapes, or non-ASCII
)

var textClass = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c == '/':
			t[c] = classSlash
		case c == ';':
			t[c] = classSemi
		case c >= '0' && c <= '9':
			t[c] = classDigit
		case c == '@':
			t[c] = classAt
		case c == '%':
			t[c] = classPercent
		case c == '+':
			t[c] = classPlus
		case c >= utf8.RuneSelf || unsafeBytes[c]:
			t[c] = classUnsafe
		}
	}
	return t
}()

// scanText reads s up to its first byte of a class in stop and returns
// that length, the digits read and the union of the classes read. The
// classes say what work s can need: MinimizeURL scans each path segment
// and campaign value once and skips the checks that cannot apply.
func scanText(s string, stop byte) (n, digits int, class byte) {
	for ; n < len(s); n++ {
		k := textClass[s[n]]
		if k&stop != 0 {
			break
		}
		if k&classDigit != 0 {
			digits++
		}
		class |= k
	}
	return n, digits, class
}

// mayBeEmail reports whether text of these classes can be an e-mail
// address to looksLikeEmail, which needs an '@' or "%40".
func mayBeEmail(class byte) bool { return class&(classAt|classPercent) != 0 }

// mayBeToken reports whether text of n bytes with this many digits can be
// a token to looksLikeToken: below 16 bytes only nine digits make one.
func mayBeToken(n, digits int) bool { return n >= 16 || digits >= 9 }

// appendSafe appends s, percent-encoding control bytes, spaces, the
// characters no URL may hold unescaped, and invalid UTF-8 bytes. In a
// query value '#' and '&' are encoded too so the value stays one value.
// Runs of bytes that need no escape are copied whole.
func appendSafe(dst []byte, s string, value bool) []byte {
	const hexDigits = "0123456789ABCDEF"
	run := 0 // start of the bytes not yet copied
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size > 1 {
				i += size
				continue
			}
		} else if !unsafeByte(c) && !(value && (c == '#' || c == '&')) {
			i++
			continue
		}
		dst = append(dst, s[run:i]...)
		dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		i++
		run = i
	}
	return append(dst, s[run:]...)
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
	b = mote.Truncate(b, n)
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
		case IsHex(c):
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
