package enrich

import (
	"strings"
	"testing"
)

var testLinkKey = [LinkKeyLen]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

func TestValidToken(t *testing.T) {
	f := func(tok string, want bool) {
		t.Helper()
		if got := ValidToken([]byte(tok)); got != want {
			t.Errorf("ValidToken(%q) = %v, want %v", tok, got, want)
		}
	}
	f("a", true)
	f("sub-123_x.y~z", true)
	f("550e8400-e29b-41d4-a716-446655440000", true)
	f(strings.Repeat("A", MaxTokenLen), true)
	f(strings.Repeat("A", MaxTokenLen+1), false)
	f("", false)
	f("jane@example.com", false)
	f("a/b", false)
	f("a b", false)
	f("a+b", false)
	f("{{TOKEN}}", false)
	f("%7B", false)
	f("é", false)
	f("a\x00", false)
	f("tok\n", false)
}

func TestRecipientID(t *testing.T) {
	k1 := [RecipientKeyLen]byte{1}
	k2 := [RecipientKeyLen]byte{2}
	a, b := RecipientID(&k1, []byte("sub-1")), RecipientID(&k1, []byte("sub-2"))
	if a == 0 || b == 0 || a == b {
		t.Fatalf("ids %x %x: want distinct and non-zero", a, b)
	}
	if again := RecipientID(&k1, []byte("sub-1")); again != a {
		t.Fatalf("same key and token: %x then %x", a, again)
	}
	if other := RecipientID(&k2, []byte("sub-1")); other == a {
		t.Fatal("another campaign key gives the same id: ids would link across campaigns")
	}
	if n := testing.AllocsPerRun(100, func() { RecipientID(&k1, []byte("sub-1")) }); n != 0 {
		t.Errorf("RecipientID allocates %v times", n)
	}
}

func TestLinkSignature(t *testing.T) {
	url := "https://shop.example/spring?utm_source=newsletter&utm_campaign=spring"
	sig := SignLink(&testLinkKey, url)
	if len(sig) != LinkSigLen || strings.ContainsAny(sig, "+/=") {
		t.Fatalf("signature %q: want %d base64url characters", sig, LinkSigLen)
	}
	if !VerifyLink(&testLinkKey, url, sig) {
		t.Fatal("own signature refused")
	}
	other := testLinkKey
	other[0] ^= 1
	flip := []byte(sig)
	flip[5] ^= 1
	last := []byte(sig)
	// The last character carries 2 padding bits: a change there that only
	// touches them must be refused too (Strict decoding).
	last[len(last)-1] = map[bool]byte{true: 'B', false: 'A'}[last[len(last)-1] == 'A']
	for name, c := range map[string]struct{ url, sig string }{
		"forged":          {url, strings.Repeat("A", LinkSigLen)},
		"flipped bit":     {url, string(flip)},
		"last character":  {url, string(last)},
		"truncated":       {url, sig[:LinkSigLen-1]},
		"truncated to 16": {url, sig[:16]},
		"padded":          {url, sig + "=="},
		"extended":        {url, sig + "AA"},
		"empty":           {url, ""},
		"std alphabet":    {url, strings.NewReplacer("-", "+", "_", "/").Replace(sig) + "+"},
		"other url":       {url + "&x=1", sig},
		"other host":      {strings.Replace(url, "shop.example", "evil.example", 1), sig},
		"not base64":      {url, strings.Repeat("!", LinkSigLen)},
	} {
		if VerifyLink(&testLinkKey, c.url, c.sig) {
			t.Errorf("%s: accepted", name)
		}
	}
	if VerifyLink(&other, url, sig) {
		t.Error("signature valid under another campaign's key")
	}
}

func FuzzVerifyLink(f *testing.F) {
	url := "https://shop.example/a"
	f.Add(url, SignLink(&testLinkKey, url))
	f.Add(url, "")
	f.Add("javascript:alert(1)", "AAAAAAAAAAAAAAAAAAAAAA")
	f.Add(url, SignLink(&testLinkKey, url)[:21]+"=")
	f.Fuzz(func(t *testing.T, url, sig string) {
		ok := VerifyLink(&testLinkKey, url, sig)
		if ok != (sig == SignLink(&testLinkKey, url)) {
			t.Fatalf("VerifyLink(%q, %q) = %v, but the signature is %q", url, sig, ok, SignLink(&testLinkKey, url))
		}
	})
}

func FuzzValidToken(f *testing.F) {
	for _, s := range []string{"a", "sub-1", "", "a@b", strings.Repeat("x", 129), "\xff", "{{TOKEN}}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, tok []byte) {
		ok := ValidToken(tok)
		if ok && (len(tok) == 0 || len(tok) > MaxTokenLen || strings.ContainsAny(string(tok), "/@?#% \x00")) {
			t.Fatalf("ValidToken(%q) = true", tok)
		}
		if ok {
			RecipientID(&[RecipientKeyLen]byte{}, tok)
		}
	})
}
