package enrich

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitURL(t *testing.T) {
	long := "/" + strings.Repeat("a", MaxPathLen+10)
	// A multi-byte rune straddling the cap must not be split.
	straddle := "/" + strings.Repeat("a", MaxPathLen-2) + "é" + "z"
	tests := []struct {
		in         string
		host, path string
		ok         bool
	}{
		{"https://example.com/pricing?utm_source=x#top", "example.com", "/pricing", true},
		{"http://example.com", "example.com", "/", true},
		{`http://example.com\pricing`, "example.com", "/pricing", true}, // a browser reads the backslash as a slash
		{`http://h\`, "h", "/", true},
		{"https://example.com?q=1", "example.com", "/", true},
		{"https://example.com#frag", "example.com", "/", true},
		{"HTTPS://WWW.Example.COM/Path/Keeps/Case", "www.example.com", "/Path/Keeps/Case", true},
		{"https://user:secret@example.com:8443/a", "example.com", "/a", true},
		// Browsers (WHATWG URL) read a backslash in an http(s) URL as '/':
		// this page is on evil.com, not probe.example.
		{`https://evil.com\@probe.example/`, "evil.com", "/@probe.example/", true},
		{`https://evil.com\x`, "evil.com", "/x", true},
		{"https://example.com./a", "example.com", "/a", true},
		{"https://[2001:db8::1]:8080/x", "[2001:db8::1]", "/x", true},
		{"https://[2001:DB8::1]/x", "[2001:db8::1]", "/x", true},
		{"https://[2001:db8::A]/x", "[2001:db8::a]", "/x", true}, // only an A to lower
		{"https://[A]/x", "[a]", "/x", true},
		{"https://sub_domain.example.com/a%20b", "sub_domain.example.com", "/a%20b", true},
		{"https://example.com" + long, "example.com", long[:MaxPathLen], true},
		{"https://example.com" + straddle, "example.com", straddle[:MaxPathLen-1], true},
		{"ftp://example.com/", "", "", false},
		{"example.com/a", "", "", false},
		{"//example.com/a", "", "", false},
		{"https:///a", "", "", false},
		{"https://:80/a", "", "", false},
		{"https://exa mple.com/", "", "", false},
		{"https://ex%41mple.com/", "", "", false},
		{"https://example.com:80x/", "", "", false},
		{"https://example.com:19999/a", "example.com", "/a", true},
		{"https://example.com:123456/a", "", "", false},
		{"https://[::1/", "", "", false},
		{"https://[]/", "", "", false},
		{"http://../", "", "", false},
		{"http://a..b/", "", "", false},
		{"https://[zz::1]/", "", "", false},
		{"https://bücher.de/", "", "", false},
		{"https://" + strings.Repeat("a", MaxHostLen+1) + "/", "", "", false},
		{"https://" + strings.Repeat("a", MaxHostLen) + "/", strings.Repeat("a", MaxHostLen), "/", true},
		{"https://[" + strings.Repeat("1", MaxHostLen-2) + "]/", "[" + strings.Repeat("1", MaxHostLen-2) + "]", "/", true},
		{"https://[" + strings.Repeat("1", MaxHostLen-1) + "]/", "", "", false},
		// An empty userinfo (browsers accept it) is not part of the host.
		{"https://@example.com/a", "example.com", "/a", true},
		{"", "", "", false},
	}
	for _, tt := range tests {
		host, path, ok := SplitURL(tt.in)
		if host != tt.host || path != tt.path || ok != tt.ok {
			t.Errorf("SplitURL(%.60q) = %q, %.40q, %v; want %q, %.40q, %v", tt.in, host, path, ok, tt.host, tt.path, tt.ok)
		}
	}
}

func TestReferrerHost(t *testing.T) {
	tests := []struct{ raw, page, want string }{
		{"https://www.google.com/search?q=secret", "example.com", "www.google.com"},
		{"https://example.com/other", "example.com", ""},
		{"https://EXAMPLE.com/other", "example.com", ""},
		{"https://example.com/other", "example.com.", ""},
		{"https://blog.example.com/", "example.com", "blog.example.com"},
		{"android-app://com.google.android.gm/", "example.com", ""},
		{"", "example.com", ""},
		{"not a url", "example.com", ""},
	}
	for _, tt := range tests {
		if got := ReferrerHost(tt.raw, tt.page); got != tt.want {
			t.Errorf("ReferrerHost(%q, %q) = %q, want %q", tt.raw, tt.page, got, tt.want)
		}
	}
}

func TestSplitURLAllocs(t *testing.T) {
	const u = "https://example.com/pricing?utm_source=newsletter#plans"
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, ok := SplitURL(u); !ok {
			t.Fatal("not ok")
		}
		_ = ReferrerHost("https://www.google.com/", "example.com")
	})
	if allocs != 0 {
		t.Fatalf("SplitURL allocates %v times per call on a lower-case URL, want 0", allocs)
	}
}

func FuzzSplitURL(f *testing.F) {
	for _, s := range []string{
		"https://example.com/pricing?utm_source=x#top",
		"HTTP://User@Example.COM:80",
		"https://[2001:db8::1]:8080/x",
		"https://example.com/\xff\xfe",
		"https://a/" + strings.Repeat("é", 600),
		"ftp://x/",
		"https://",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		host, path, ok := SplitURL(raw)
		if !ok {
			if host != "" || path != "" {
				t.Fatalf("not ok but returned %q, %q", host, path)
			}
			return
		}
		if host == "" || len(host) > MaxHostLen || strings.ToLower(host) != host {
			t.Fatalf("bad host %q", host)
		}
		if strings.ContainsAny(host, "@/?#% ") {
			t.Fatalf("host %q holds a delimiter", host)
		}
		if path == "" || path[0] != '/' || len(path) > MaxPathLen || strings.ContainsAny(path, "?#") {
			t.Fatalf("bad path %q", path)
		}
		if utf8.ValidString(raw) && !utf8.ValidString(path) {
			t.Fatalf("valid input gave invalid UTF-8 path %q", path)
		}
		if !strings.Contains(strings.ToLower(raw), host) {
			t.Fatalf("host %q not taken from %q", host, raw)
		}
		if !strings.Contains(raw, path) && !strings.Contains(raw, "\\"+path[1:]) && path != "/" {
			t.Fatalf("path %q not taken from %q", path, raw)
		}
		if rh := ReferrerHost(raw, host); rh != "" {
			t.Fatalf("self-referral kept: %q", rh)
		}
	})
}
