package mote

import "testing"

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"},  // é is 2 bytes: not split
		{"a😀b", 4, "a"}, // 😀 is 4 bytes: cut before it
		{"a😀b", 5, "a😀"},
		{"/\x8e\x8e\x8e\x8e\x8e\x8e", 5, "/\x8e\x8e\x8e\x8e"}, // no rune to keep whole: cut at n
		{"é", 0, ""},
	} {
		if got := Truncate(c.s, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
		if got := Truncate([]byte(c.s), c.n); string(got) != c.want {
			t.Errorf("Truncate([]byte(%q), %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
