package enrich

import (
	"strings"
	"testing"
)

// The edges of the redaction rules, each next to the one byte that turns
// it over (mutation testing, issue 20).

func TestLooksLikeEmail(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"a@b.co", true},
		{"a%40b.co", true},
		{"a@b%2Eco", true},
		{"a@b%2eco", true},
		{"@b.co", false},  // no local part
		{"a@.co", false},  // no domain label before the dot
		{"a@b.", false},   // nothing after the dot
		{"a@b%2E", false}, // nothing after the encoded dot
		{"a@%2Eco", false},
		{"a%4", false},
		{"a%40", false},
		{"a%", false},
		// The dot must be in the domain, not before the '@'.
		{"j.d%40example", false},
		{"ab%40example.org", true},
		{"jane.doe@example", false},
	} {
		if got := looksLikeEmail(tt.s); got != tt.want {
			t.Errorf("looksLikeEmail(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestLooksLikeToken(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"123456789", true},
		{"12345678", false},
		{"1234-5678-9", true},
		{"1234%205678%209", true},
		{"0000000009", true},
		{"9999999999", true},
		{"eyJhbGciOiJIUzIx", true}, // a JWT prefix of 16 bytes
		{"eyJhbGciOiJIUzI1", true},
		{"eyJhbGciOiJIUzI", false},
		{"abcdefghijklmno=", true}, // 16 bytes with padding
		{"abcdefghijklmn=", false},
		{"0a1b-2c3d-4e5f-6a7b", true}, // 16 hex digits, dashes allowed
		{"0a1b-2c3d-4e5f-6a7", false},
		{"abcd-efab-cdef-abcd", false}, // hex letters without a digit
		{"a1b2c3d4e5f6g7h8", true},     // 16 letters and digits
		{"a1b2c3d4e5f6g7h", false},
		{"a1b2c3d4e5f6g7h8-x", true},
		{"a1b2c3d4e5f6g7h8%20x", true},
		{"a1b2c3d4e5f6g7h%20x", false},
		{"aBcDeFgHiJkLmNoPqRsTuVwX", true}, // 24 letters of both cases
		{"aBcDeFgHiJkLmNoPqRsTuVw", false},
		{"aBcDeFgHiJkLmNoPqRsTuVwX-y", true},
		{"aBcDeFgHiJkLmNoPqRsTuVwX%20y", true},
		{"aBcDeFgHiJkLmNoPqRsTuVw%20y", false},
		{"how-to-grow-your-startup-in-2024", false},
		// The ends of each character range in a run.
		{"0g0g0g0g0g0g0g0g", true},
		{"9g9g9g9g9g9g9g9g", true},
		{"aAaAaAaAaAaAaAaAaAaAaAaA", true},
		{"zZzZzZzZzZzZzZzZzZzZzZzZ", true},
		{"1A1A1A1A1A1A1A1Z", true},
		{"abc%2", false},
		{"1234567%2", false},
		{"abcdefghijklmno%2", false},
	} {
		if got := looksLikeToken(tt.s); got != tt.want {
			t.Errorf("looksLikeToken(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestCapEncoded(t *testing.T) {
	for _, tt := range []struct {
		b    string
		n    int
		want string
	}{
		{"ab%41", 5, "ab%41"},
		{"ab%41", 4, "ab"},
		{"ab%41", 3, "ab"},
		{"ab%41", 2, "ab"},
		{"ab%", 3, "ab%"}, // not cut: a raw '%' stays
		{"a%4", 3, "a%4"},
		{"%41", 2, ""},
		{"%41", 1, ""},
	} {
		if got := string(capEncoded([]byte(tt.b), tt.n)); got != tt.want {
			t.Errorf("capEncoded(%q, %d) = %q, want %q", tt.b, tt.n, got, tt.want)
		}
	}
}

func TestAppendSafe(t *testing.T) {
	for _, tt := range []struct {
		s     string
		value bool
		want  string
	}{
		{"plain", false, "plain"},
		{"\x80", false, "%80"},
		{"a\x80b", false, "a%80b"},
		{"\xc3\xa9", false, "\xc3\xa9"},
		{"\xc3", false, "%C3"},
		{`"q"`, false, "%22q%22"},
		{"a}", false, "a%7D"},
		{"a b\x7f", false, "a%20b%7F"},
		{"!~", false, "!~"},
		{"a#b&c", false, "a#b&c"},
		{"a#b&c", true, "a%23b%26c"},
	} {
		if got := string(appendSafe(nil, tt.s, tt.value)); got != tt.want {
			t.Errorf("appendSafe(%q, %v) = %q, want %q", tt.s, tt.value, got, tt.want)
		}
	}
	for c := range 256 {
		want := c <= ' ' || c == 0x7f || strings.IndexByte("\"<>\\^`{|}", byte(c)) >= 0
		if unsafeByte(byte(c)) != want {
			t.Errorf("unsafeByte(%#x) = %v", c, !want)
		}
	}
}
