package collector

import (
	"unicode"
	"unicode/utf8"
)

// Control characters never reach storage from a beacon's strings: a NUL
// truncates a C string in whatever reads the export, CR/LF forge lines in
// logs and CSV, ESC drives terminals, and U+2028/U+2029 end a line in
// JavaScript. The JSON scanner removes C0 (U+0000-U+001F), DEL, C1
// (U+0080-U+009F) and U+2028/U+2029, whether they came raw or as
// escapes; the ones that separate words (tab, line and page breaks, NEL,
// U+2028/U+2029) become a space, so "Sign\nup" stays two words. The
// beacon is stored with what is left, and the server counts it
// (Counters.ControlChars); an event name with nothing printable left is
// refused (400, Counters.UnprintableName).

// controlChar reports whether r is removed, and what replaces it (0 for
// nothing).
func controlChar(r rune) (bool, byte) {
	switch {
	case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' ||
		r == 0x85 || r == 0x2028 || r == 0x2029:
		return true, ' '
	case r < 0x20 || r >= 0x7f && r <= 0x9f:
		return true, 0
	}
	return false, 0
}

// plainText reports whether raw (no escapes) may be stored as it is:
// valid UTF-8 without C1 controls or U+2028/U+2029 (ASCII controls are
// checked by the scanner as it goes).
func plainText(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i+1 < len(raw); i++ {
		switch raw[i] {
		case 0xc2: // U+0080-U+00BF: C1 is 0xc2 0x80-0x9f
			if raw[i+1] <= 0x9f {
				return false
			}
		case 0xe2: // U+2028/U+2029: 0xe2 0x80 0xa8/0xa9
			if i+2 < len(raw) && raw[i+1] == 0x80 && (raw[i+2] == 0xa8 || raw[i+2] == 0xa9) {
				return false
			}
		}
	}
	return true
}

// appendText appends r, or its replacement when it is a control
// character; cleaned reports a replacement or removal.
func appendText(dst []byte, r rune) (out []byte, cleaned bool) {
	ctl, sub := controlChar(r)
	switch {
	case !ctl:
		return utf8.AppendRune(dst, r), false
	case sub != 0:
		return append(dst, sub), true
	}
	return dst, true
}

// printable reports whether s has a character a reader can see.
func printable(s string) bool {
	for _, r := range s {
		if unicode.IsGraphic(r) && !unicode.IsSpace(r) {
			return true
		}
	}
	return false
}
