package enrich

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMinimizeURL(t *testing.T) {
	spa := URLOptions{HashRouting: true}
	site := URLOptions{KeepKeys: []string{"q"}}
	tests := []struct {
		in   string
		opt  URLOptions
		want Page
	}{
		{"https://example.com/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring+sale&utm_term=a%20b&utm_content=hero#plans", URLOptions{},
			Page{Host: "example.com", Path: "/pricing", UTMSource: "newsletter", UTMMedium: "email", UTMCampaign: "spring sale", UTMTerm: "a b", UTMContent: "hero"}},
		{"https://example.com/?ref=producthunt&fbclid=abc&source=hn&gclid=x", URLOptions{},
			Page{Host: "example.com", Path: "/?ref=producthunt&source=hn"}},
		{"https://example.com/search?q=shoes&session=1", site, Page{Host: "example.com", Path: "/search?q=shoes"}},
		{"https://example.com/search?Q=shoes&q=other", site, Page{Host: "example.com", Path: "/search?q=shoes"}},
		{"https://example.com/users/jane.doe@example.org/settings", URLOptions{}, Page{Host: "example.com", Path: "/users/:email/settings"}},
		{"https://example.com/u/jane.doe%40example.org", URLOptions{}, Page{Host: "example.com", Path: "/u/:email"}},
		{"https://example.com/@jane", URLOptions{}, Page{Host: "example.com", Path: "/@jane"}},
		{"https://example.com/reset/8f14e45fceea167a5a36dedd4bea2543", URLOptions{}, Page{Host: "example.com", Path: "/reset/:token"}},
		{"https://example.com/o/550e8400-e29b-41d4-a716-446655440000/items", URLOptions{}, Page{Host: "example.com", Path: "/o/:token/items"}},
		{"https://example.com/auth/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", URLOptions{}, Page{Host: "example.com", Path: "/auth/:token"}},
		{"https://example.com/invite/Qm9vbTEyMzQ1Njc4OTBhYmNkZWY", URLOptions{}, Page{Host: "example.com", Path: "/invite/:token"}},
		{"https://example.com/call/+33-6-12-34-56-78", URLOptions{}, Page{Host: "example.com", Path: "/call/:token"}},
		{"https://example.com/card/4111111111111111", URLOptions{}, Page{Host: "example.com", Path: "/card/:token"}},
		{"https://example.com/cart;jsessionid=1A2B3C4D5E6F7G8H/checkout", URLOptions{}, Page{Host: "example.com", Path: "/cart/checkout"}},
		{"https://example.com/blog/how-to-grow-your-startup-in-2024", URLOptions{}, Page{Host: "example.com", Path: "/blog/how-to-grow-your-startup-in-2024"}},
		{"https://example.com/2024/01/15/post", URLOptions{}, Page{Host: "example.com", Path: "/2024/01/15/post"}},
		{"https://example.com/product/12345", URLOptions{}, Page{Host: "example.com", Path: "/product/12345"}},
		{"https://example.com/?ref=jane@example.org", URLOptions{}, Page{Host: "example.com", Path: "/?ref=:email"}},
		{"https://example.com/?utm_content=jane%40example.org&utm_source=x", URLOptions{}, Page{Host: "example.com", Path: "/", UTMSource: "x", UTMContent: ":email"}},
		{"https://example.com/app#/orders/42?ref=a&token=s3cr3t", spa, Page{Host: "example.com", Path: "/app#/orders/42?ref=a"}},
		{"https://example.com/app#!/inbox", spa, Page{Host: "example.com", Path: "/app#!/inbox"}},
		{"https://example.com\\pricing", URLOptions{}, Page{Host: "example.com", Path: "/pricing"}},
		{"https://example.com\\", URLOptions{}, Page{Host: "example.com", Path: "/"}},
		{"https://example.com/a\\b", URLOptions{}, Page{Host: "example.com", Path: "/a%5Cb"}},
		{"https://example.com/app#/reset/8f14e45fceea167a5a36dedd4bea2543", spa, Page{Host: "example.com", Path: "/app#/reset/:token"}},
		{"https://example.com/cb#access_token=abc&id_token=def", spa, Page{Host: "example.com", Path: "/cb"}},
		{"https://example.com/app#/x", URLOptions{}, Page{Host: "example.com", Path: "/app"}},
		{"https://example.com/a b/\x01\xff", URLOptions{}, Page{Host: "example.com", Path: "/a%20b/%01%FF"}},
		{"https://example.com/caf\u00e9", URLOptions{}, Page{Host: "example.com", Path: "/caf\u00e9"}},
		{"https://example.com/?utm_source=%FF%FEgoogle", URLOptions{}, Page{Host: "example.com", Path: "/", UTMSource: "\uFFFD\uFFFDgoogle"}},
		{"https://example.com/?utm_source=a%0Ab", URLOptions{}, Page{Host: "example.com", Path: "/", UTMSource: "a b"}},
		{"https://Example.COM", URLOptions{}, Page{Host: "example.com", Path: "/"}},
		// Tokens in kept query values and campaign values are redacted like
		// tokens in the path: plain values (checked as sent) and values with
		// escapes (checked once decoded).
		{"https://example.com/?ref=7c4a8d09ca3762af61e59520943dc26494f8941b&source=4111111111111111", URLOptions{}, Page{Host: "example.com", Path: "/?ref=:token&source=:token"}},
		{"https://example.com/search?q=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig&ref=hn", site, Page{Host: "example.com", Path: "/search?q=:token&ref=hn"}},
		{"https://example.com/app#/x?ref=550e8400-e29b-41d4-a716-446655440000", spa, Page{Host: "example.com", Path: "/app#/x?ref=:token"}},
		{"https://example.com/?utm_campaign=7c4a8d09ca3762af61e59520943dc26494f8941b&utm_term=Qm9vbTEyMzQ1Njc4OTBhYmNkZWY&utm_source=x", URLOptions{},
			Page{Host: "example.com", Path: "/", UTMSource: "x", UTMCampaign: ":token", UTMTerm: ":token"}},
		{"https://example.com/?utm_content=7c4a8d09ca37%2062af61e59520943dc26494f8941b&utm_medium=%2B1%20(555)%20123-4567", URLOptions{},
			Page{Host: "example.com", Path: "/", UTMMedium: ":token", UTMContent: ":token"}},
		{"https://example.com/?utm_campaign=" + strings.Repeat("7c4a8d09", 30), URLOptions{}, Page{Host: "example.com", Path: "/", UTMCampaign: ":token"}},
		// Campaign keys in any case.
		{"https://example.com/?UTM_SOURCE=a&Utm_Medium=b&UTM_CAMPAIGN=c&uTm_TeRm=d&UTM_content=e", URLOptions{},
			Page{Host: "example.com", Path: "/", UTMSource: "a", UTMMedium: "b", UTMCampaign: "c", UTMTerm: "d", UTMContent: "e"}},
		// A campaign value empty once decoded does not win; 0x80 (the
		// first byte that is not ASCII) alone is invalid UTF-8.
		{"https://example.com/?utm_source=%20&utm_source=x&utm_medium=%80m", URLOptions{}, Page{Host: "example.com", Path: "/", UTMSource: "x", UTMMedium: "\uFFFDm"}},
		// The shortest tokens: nine digits, sixteen hex characters.
		{"https://example.com/u/123456789/p/12345678", URLOptions{}, Page{Host: "example.com", Path: "/u/:token/p/12345678"}},
		{"https://example.com/r/8f14e45fceea167a/s/8f14e45fceea167", URLOptions{}, Page{Host: "example.com", Path: "/r/:token/s/8f14e45fceea167"}},
		// A fragment, query or empty pair right after the host.
		{"https://example.com#top", URLOptions{}, Page{Host: "example.com", Path: "/"}},
		{"https://example.com?ref=a&utm_source=x", URLOptions{}, Page{Host: "example.com", Path: "/?ref=a", UTMSource: "x"}},
		{"https://example.com/?&ref=a&&source=b", URLOptions{}, Page{Host: "example.com", Path: "/?ref=a&source=b"}},
		// Look-alikes stay: short numbers, slugs and dates.
		{"https://example.com/?ref=spring-sale-2024&utm_campaign=black_friday_2024&utm_term=12345678", URLOptions{},
			Page{Host: "example.com", Path: "/?ref=spring-sale-2024", UTMCampaign: "black_friday_2024", UTMTerm: "12345678"}},
	}
	var p Page
	for _, tt := range tests {
		if !MinimizeURL(tt.in, tt.opt, &p) {
			t.Errorf("MinimizeURL(%q) not ok", tt.in)
			continue
		}
		got, want := p, tt.want
		got.buf = nil
		if got.Host != want.Host || got.Path != want.Path || got.UTMSource != want.UTMSource || got.UTMMedium != want.UTMMedium ||
			got.UTMCampaign != want.UTMCampaign || got.UTMTerm != want.UTMTerm || got.UTMContent != want.UTMContent {
			t.Errorf("MinimizeURL(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "ftp://x/", "https://", "mailto:jane@example.org", "https://exa mple.com/"} {
		if MinimizeURL(bad, URLOptions{}, &p) || p.Host != "" || p.Path != "" {
			t.Errorf("MinimizeURL(%q) accepted: %+v", bad, p)
		}
	}
}

func TestMinimizeURLCaps(t *testing.T) {
	var p Page
	long := "https://example.com/" + strings.Repeat("ab-", 600) + "?utm_campaign=" + strings.Repeat("x", 500)
	if !MinimizeURL(long, URLOptions{}, &p) {
		t.Fatal("not ok")
	}
	if len(p.Path) > MaxPathLen || len(p.UTMCampaign) > MaxUTMLen {
		t.Fatalf("caps not applied: path %d, campaign %d", len(p.Path), len(p.UTMCampaign))
	}
	// A cut never leaves half a percent escape.
	esc := "https://example.com/" + strings.Repeat("%C3%A9", 400)
	MinimizeURL(esc, URLOptions{}, &p)
	if i := strings.LastIndexByte(p.Path, '%'); i > len(p.Path)-3 {
		t.Fatalf("path ends in a cut escape: %q", p.Path[len(p.Path)-6:])
	}
}

// piiCorpus are URLs as real sites send them, each with personal data or a
// secret in the path, the query or the fragment.
var piiCorpus = []string{
	"https://shop.example.com/account/orders?email=jane.doe@example.org&order=123",
	"https://example.com/unsubscribe?e=jane%40example.org&list=news",
	"https://example.com/profile/jane.doe@example.org",
	"https://example.com/profile/JANE.DOE%40EXAMPLE.ORG/edit",
	"https://example.com/password/reset?token=7c4a8d09ca3762af61e59520943dc26494f8941b",
	"https://example.com/password/reset/7c4a8d09ca3762af61e59520943dc26494f8941b",
	"https://example.com/verify/eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJlbWFpbCI6ImphbmVAZXhhbXBsZS5vcmcifQ.abc",
	"https://example.com/login;jsessionid=0A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D",
	"https://example.com/s/?PHPSESSID=el4ukv0kqbvoirg7nkp4dncpk3&ref=twitter",
	"https://example.com/callback#access_token=ya29.a0AfH6SMC&token_type=Bearer&expires_in=3599",
	"https://example.com/#/settings?email=jane@example.org&ref=app",
	"https://example.com/app#/users/jane@example.org/invoices",
	"https://example.com/?utm_source=newsletter&utm_campaign=jane@example.org&mc_eid=3f2a1b&mc_cid=9a8b",
	"https://example.com/welcome?ref=jane%2Bnews%40example.org",
	"https://example.com/invite/a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d?source=email",
	"https://example.com/sms/+1%20(555)%20123-4567",
	"https://example.com/pay?card=4111%201111%201111%201111&source=checkout",
	"https://example.com/d/Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Ng==",
	"https://example.com/?q=private+search&user_id=98765&source=jane@example.org",
}

// emailRe finds an e-mail address, raw or with an encoded '@'.
var emailRe = regexp.MustCompile(`(?i)[a-z0-9._%+-]+(@|%40)[a-z0-9.-]+(\.|%2e)[a-z]{2,}`)

var allowedKey = map[string]bool{"ref": true, "source": true}

func TestMinimizeURLPIICorpus(t *testing.T) {
	secrets := []string{"7c4a8d09ca3762af61e59520943dc26494f8941b", "eyJ", "jsessionid", "0A1B2C3D4E5F", "PHPSESSID",
		"el4ukv0kqbvoirg7nkp4dncpk3", "ya29", "access_token", "a1b2c3d4-e5f6", "555", "4111", "Zm9v", "98765", "private", "3f2a1b"}
	for _, opt := range []URLOptions{{}, {HashRouting: true}} {
		var p Page
		for _, u := range piiCorpus {
			if !MinimizeURL(u, opt, &p) {
				t.Fatalf("corpus URL rejected: %q", u)
			}
			for _, v := range []string{p.Host, p.Path, p.UTMSource, p.UTMMedium, p.UTMCampaign, p.UTMTerm, p.UTMContent} {
				if emailRe.MatchString(v) || strings.Contains(v, "@") && strings.Contains(v[strings.Index(v, "@"):], ".") {
					t.Errorf("%q (hash routing %v): e-mail survived in %q", u, opt.HashRouting, v)
				}
				for _, s := range secrets {
					if strings.Contains(v, s) {
						t.Errorf("%q (hash routing %v): %q survived in %q", u, opt.HashRouting, s, v)
					}
				}
			}
			checkKeys(t, p.Path)
		}
	}
}

// checkKeys fails when path holds a query key outside the allow-list.
func checkKeys(t *testing.T, path string) {
	t.Helper()
	for _, part := range strings.Split(path, "#") {
		_, q, ok := strings.Cut(part, "?")
		if !ok {
			continue
		}
		for _, pair := range strings.Split(q, "&") {
			k, _, _ := strings.Cut(pair, "=")
			if !allowedKey[k] {
				t.Errorf("key %q kept in %q", k, path)
			}
		}
	}
}

func BenchmarkMinimizeURL(b *testing.B) {
	var p Page
	const u = "https://example.com/blog/post-title?utm_source=newsletter&utm_medium=email&utm_campaign=launch&fbclid=xyz#comments"
	b.ReportAllocs()
	for b.Loop() {
		MinimizeURL(u, URLOptions{}, &p)
	}
}

func FuzzMinimizeURL(f *testing.F) {
	for _, s := range piiCorpus {
		f.Add(s, false)
	}
	f.Add("https://example.com/app#/x?ref=a", true)
	f.Add("https://example.com/%", false)
	f.Add("https://example.com\\", false)
	f.Add("https://example.com/?utm_source=%", false)
	f.Add("https://example.com/\xff?ref=\xfe#/\xfd", true)
	f.Fuzz(func(t *testing.T, raw string, hash bool) {
		var p Page
		opt := URLOptions{HashRouting: hash, KeepKeys: []string{"q"}}
		checkPlantedTokens(t, raw, opt)
		if !MinimizeURL(raw, opt, &p) {
			if p.Host != "" || p.Path != "" {
				t.Fatalf("not ok but returned %+v", p)
			}
			return
		}
		if p.Path == "" || p.Path[0] != '/' || len(p.Path) > MaxPathLen {
			t.Fatalf("bad path %q", p.Path)
		}
		for _, v := range []string{p.Path, p.UTMSource, p.UTMMedium, p.UTMCampaign, p.UTMTerm, p.UTMContent} {
			if !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 in %q", v)
			}
			if len(v) > MaxPathLen {
				t.Fatalf("uncapped %d bytes", len(v))
			}
		}
		for _, v := range []string{p.UTMSource, p.UTMMedium, p.UTMCampaign, p.UTMTerm, p.UTMContent} {
			if len(v) > MaxUTMLen {
				t.Fatalf("campaign value of %d bytes", len(v))
			}
		}
		if strings.ContainsAny(p.Path, " \x00\n") {
			t.Fatalf("unsafe byte kept in %q", p.Path)
		}
		if !hash && strings.Contains(p.Path, "#") {
			t.Fatalf("fragment kept without hash routing: %q", p.Path)
		}
		for _, part := range strings.Split(p.Path, "#") {
			_, q, ok := strings.Cut(part, "?")
			if !ok {
				continue
			}
			for _, pair := range strings.Split(q, "&") {
				k, _, _ := strings.Cut(pair, "=")
				if k != "ref" && k != "source" && k != "q" {
					t.Fatalf("key %q kept in %q", k, p.Path)
				}
			}
		}
		for _, seg := range strings.FieldsFunc(p.Path, func(r rune) bool { return strings.ContainsRune("/?&=#", r) }) {
			if looksLikeEmail(seg) {
				t.Fatalf("e-mail-like segment %q kept in %q", seg, p.Path)
			}
		}
		// A campaign value is stored as it was checked, so none may look
		// like a token.
		for _, v := range []string{p.UTMSource, p.UTMMedium, p.UTMCampaign, p.UTMTerm, p.UTMContent} {
			if v != RedactedToken && looksLikeToken(v) {
				t.Fatalf("token-like campaign value %q kept from %q", v, raw)
			}
		}
	})
}

// plantedToken is a secret of the kind sites put in URLs (a 40-hex reset
// token); its 40 alphanumerics make a token whatever surrounds them.
const plantedToken = "7c4a8d09ca3762af61e59520943dc26494f8941b"

// checkPlantedTokens appends plantedToken to raw as a path segment, as the
// value of allow-listed keys and campaign keys, plain and percent-encoded,
// and fails if any stored field still holds it. Wherever raw leaves the
// appended text (in the path, a query value, a fragment), the token must
// not be stored. The host is not checked: raw may end inside it.
func checkPlantedTokens(t *testing.T, raw string, opt URLOptions) {
	t.Helper()
	encoded := strings.ReplaceAll(plantedToken, "8", "%38")
	for _, suffix := range []string{
		"/" + plantedToken,
		"&ref=" + plantedToken, "&source=" + encoded, "&q=" + plantedToken,
		"&utm_source=" + plantedToken, "&utm_medium=" + encoded, "&utm_campaign=x%20" + plantedToken,
		"&utm_term=" + plantedToken, "&utm_content=" + plantedToken,
	} {
		var p Page
		if !MinimizeURL(raw+suffix, opt, &p) {
			continue
		}
		for _, v := range []string{p.Path, p.UTMSource, p.UTMMedium, p.UTMCampaign, p.UTMTerm, p.UTMContent} {
			if strings.Contains(v, plantedToken) || strings.Contains(v, encoded) {
				t.Fatalf("token kept: %q from %q", v, raw+suffix)
			}
		}
	}
}

// TestMinimizeURLKeptKeysCap: at most maxKeptKeys allow-listed keys are
// kept, however many the site allows and the URL holds.
func TestMinimizeURLKeptKeysCap(t *testing.T) {
	opt := URLOptions{KeepKeys: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}}
	var p Page
	if !MinimizeURL("https://example.com/?ref=1&source=2&a=3&b=4&c=5&d=6&e=7&f=8&g=9&h=10&i=11&j=12", opt, &p) {
		t.Fatal("not ok")
	}
	if want := "/?ref=1&source=2&a=3&b=4&c=5&d=6&e=7&f=8"; p.Path != want {
		t.Fatalf("path %q, want %q (%d keys)", p.Path, want, maxKeptKeys)
	}
}
