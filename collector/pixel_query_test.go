package collector

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParsePixelQuery(t *testing.T) {
	tests := []struct {
		q    string
		want beacon
		ok   bool
	}{
		{"s=demo&u=https%3A%2F%2Fexample.com%2Fa%3Fb%3Dc&r=https%3A%2F%2Fg.com%2F&w=1440",
			beacon{site: "demo", url: "https://example.com/a?b=c", ref: "https://g.com/", width: 1440}, true},
		{"s=demo", beacon{site: "demo"}, true},
		{"s=de+mo&s=other&x=1&&=&ss=no&w=", beacon{site: "de mo"}, true},
		{"u=https://example.com/a b&s=demo", beacon{site: "demo", url: "https://example.com/a b"}, true},
		{"s=%zz%4&u=%C3%A9%FF", beacon{site: "%zz%4", url: "é\uFFFD"}, true},
		{"s=\xff", beacon{site: "\uFFFD"}, true},
		{"s=demo&w=100000", beacon{site: "demo", width: 100000}, true},
		{"", beacon{}, false},
		{"s=", beacon{}, false},
		{"s=demo&w=100001", beacon{}, false},
		{"s=demo&w=-1", beacon{}, false},
		{"s=demo&w=12px", beacon{}, false},
	}
	for _, tt := range tests {
		var sc scratch
		var b beacon
		ok := parsePixelQuery([]byte(tt.q), &sc, &b)
		if ok != tt.ok || (ok && !equalBeacon(b, tt.want)) {
			t.Errorf("parsePixelQuery(%q) = %+v, %v; want %+v, %v", tt.q, b, ok, tt.want, tt.ok)
		}
	}
}

// FuzzPixelQuery checks the pixel parser against net/url on the values it
// extracts: never a panic, always valid UTF-8, capped, and the same value
// as url.ParseQuery wherever that one succeeds and the value is valid.
func FuzzPixelQuery(f *testing.F) {
	for _, s := range []string{
		"s=demo&u=https%3A%2F%2Fexample.com%2Fpricing%3Futm_source%3Dnewsletter&r=https%3A%2F%2Fwww.google.com%2F&w=1440",
		"s=%&u=%%&r=%2&w=",
		"s=a+b&s=c&u=\xff\xfe",
		"w=999999&s=x",
		"s=" + strings.Repeat("%41", 2000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, q []byte) {
		var sc scratch
		var b beacon
		ok := parsePixelQuery(q, &sc, &b)
		for _, v := range []string{b.site, b.url, b.ref} {
			if !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 %q from %q", v, q)
			}
		}
		if len(b.url) > maxURLLen || len(b.ref) > maxURLLen {
			t.Fatal("url cap exceeded")
		}
		if ok && (b.site == "" || b.width < 0 || b.width > maxScreenWidth) {
			t.Fatalf("ok with %+v", b)
		}
		ref, err := url.ParseQuery(string(q))
		if err != nil || !ok {
			return
		}
		if s := ref.Get("s"); utf8.ValidString(s) && s != b.site {
			t.Fatalf("site %q, net/url says %q", b.site, s)
		}
		if u := ref.Get("u"); utf8.ValidString(u) && len(u) <= maxURLLen && u != b.url {
			t.Fatalf("url %q, net/url says %q", b.url, u)
		}
	})
}
