package collector

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func parseBody(t testing.TB, body string) (beacon, error) {
	t.Helper()
	var sc scratch
	var b beacon
	err := parseEventBody([]byte(body), &sc, &b)
	return b, err
}

func TestParseEventBody(t *testing.T) {
	longKey := strings.Repeat("k", maxPropKeyLen+5)
	longVal := strings.Repeat("é", maxPropValLen) // 2 bytes each: cut on a rune boundary
	var manyProps strings.Builder
	for i := range maxProps + 5 {
		manyProps.WriteString(`,"k` + itoa(i) + `":1`)
	}
	tests := []struct {
		name string
		body string
		want beacon
	}{
		{"minimal", `{"s":"demo","u":"https://example.com/"}`,
			beacon{site: "demo", url: "https://example.com/"}},
		{"all fields, whitespace", " \n{ \"s\" : \"demo\" , \"n\":\"engagement\",\"u\":\"https://e.com/\",\"r\":\"https://g.com/\",\"w\":1280.7,\"c\":true,\"t\":1500,\"d\":-3 }\r\n",
			beacon{site: "demo", name: "engagement", hasName: true, url: "https://e.com/", ref: "https://g.com/", width: 1280, consent: true, engagementMS: 1500, scroll: -3}},
		{"escapes", `{"s":"d\u0065mo","u":"https:\/\/e.com\/a\tb","n":"caf\u00e9 \ud83d\ude00 \"q\" \\"}`,
			beacon{site: "demo", url: "https://e.com/a b", name: "café 😀 \"q\" \\", hasName: true, cleaned: true}},
		// The probe's body: NUL in the name, a prop key and a value.
		{"nul escapes", `{"s":"demo","u":"x","n":"Nul\u0000Name","p":{"k\u0000":"v\u0000"}}`,
			beacon{site: "demo", url: "x", name: "NulName", hasName: true, propKeys: []string{"k"}, propValues: []string{"v"}, cleaned: true}},
		{"control escapes", `{"s":"demo","u":"x","n":"a\r\nb\tc\u001b[31md\u007fe\u0085f\u2028g\u2029h\u009bi\bj\fk","p":{"l":"\u000b"}}`,
			beacon{site: "demo", url: "x", name: "a  b c[31mde f g hij k", hasName: true, propKeys: []string{"l"}, propValues: []string{" "}, cleaned: true}},
		{"raw controls", "{\"s\":\"demo\",\"u\":\"x\",\"n\":\"a\x7fb\xc2\x85c\xc2\x9fd\xe2\x80\xa8e\xe2\x80\xa9f\xc2\xa0g\xe2\x80\xa6\"}",
			beacon{site: "demo", url: "x", name: "ab cd e f\u00a0g…", hasName: true, cleaned: true}},
		{"a prop key of controls only is absent", `{"s":"demo","u":"x","p":{"\u0000":"v","k":"\u0001"}}`,
			beacon{site: "demo", url: "x", propKeys: []string{"k"}, propValues: []string{""}, cleaned: true}},
		{"lone surrogates", `{"s":"demo","u":"x","n":"\ud83d-\ude00-\ud83d\u0041"}`,
			beacon{site: "demo", url: "x", name: "\uFFFD-\uFFFD-\uFFFDA", hasName: true}},
		{"invalid utf8 sanitised", "{\"s\":\"demo\",\"u\":\"x\",\"n\":\"a\xffb\xc3\"}",
			beacon{site: "demo", url: "x", name: "a\uFFFDb\uFFFD", hasName: true}},
		{"nulls are absent", `{"s":"demo","u":"x","n":null,"r":null,"w":null,"p":null,"c":null}`,
			beacon{site: "demo", url: "x"}},
		{"last duplicate wins", `{"s":"a","s":"demo","u":"x"}`,
			beacon{site: "demo", url: "x"}},
		// A later null clears an earlier value, as JSON.parse and
		// encoding/json read it (found by FuzzEventBody in CI).
		{"a later null wins", `{"s":"demo","u":"x","n":"a","n":null,"w":5,"w":null,"r":"y","r":null}`,
			beacon{site: "demo", url: "x"}},
		{"a later p replaces", `{"s":"demo","u":"x","p":{"a":"1"},"p":{"b":"2"}}`,
			beacon{site: "demo", url: "x", propKeys: []string{"b"}, propValues: []string{"2"}}},
		{"a later null p clears", `{"s":"demo","u":"x","p":{"a":"1"},"p":null}`,
			beacon{site: "demo", url: "x", propKeys: []string{}, propValues: []string{}}},
		{"unknown keys skipped", `{"s":"demo","zz":{"a":[1,2,{"b":"\u00e9"}],"c":null},"u":"x","v":[],"q":-0.5e+3}`,
			beacon{site: "demo", url: "x"}},
		{"numbers saturate", `{"s":"demo","u":"x","w":99999999999999999999999,"t":-1e400,"d":1e2}`,
			beacon{site: "demo", url: "x", width: 1<<63 - 1, engagementMS: -1 << 63, scroll: 100}},
		{"consent number", `{"s":"demo","u":"x","c":1}`, beacon{site: "demo", url: "x", consent: true}},
		{"props", `{"s":"demo","u":"x","p":{"plan":"pro","n":-1.5,"ok":false,"dup":"1","dup":"2","":"empty","nil":null}}`,
			beacon{site: "demo", url: "x", propKeys: []string{"plan", "n", "ok", "dup"}, propValues: []string{"pro", "-1.5", "false", "1"}}},
		{"prop caps", `{"s":"demo","u":"x","p":{"` + longKey + `":"` + longVal + `"}}`,
			beacon{site: "demo", url: "x", propKeys: []string{longKey[:maxPropKeyLen]}, propValues: []string{longVal[:maxPropValLen]}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBody(t, tt.body)
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !equalBeacon(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}

	t.Run("prop count cap", func(t *testing.T) {
		got, err := parseBody(t, `{"s":"demo","u":"x","p":{"a":1`+manyProps.String()+`}}`)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.propKeys) != maxProps || got.propKeys[0] != "a" {
			t.Fatalf("%d props, first %q; want %d starting with a", len(got.propKeys), got.propKeys[0], maxProps)
		}
	})
}

func equalBeacon(a, b beacon) bool {
	if !slices.Equal(a.propKeys, b.propKeys) || !slices.Equal(a.propValues, b.propValues) {
		return false
	}
	a.propKeys, a.propValues, b.propKeys, b.propValues = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

func TestParseEventBodyRejects(t *testing.T) {
	deep := `{"s":"demo","u":"x","z":` + strings.Repeat("[", maxJSONDepth+2) + strings.Repeat("]", maxJSONDepth+2) + `}`
	for _, body := range []string{
		`{"s":"demo","u":"x","n":"\u0000"}`, `{"s":"demo","u":"x","n":"\r\n\u2028 "}`, "{\"s\":\"demo\",\"u\":\"x\",\"n\":\"\x7f\"}",
		`{"s":"demo","u":"x","n":" "}`,
		``, ` `, `null`, `[]`, `"s"`, `{`, `{"s":"demo","u":"x"`, `{"s":"demo","u":"x"}}`,
		`{"s":"demo","u":"x"} x`, `{"s":"demo","u":"x",}`, `{"s" "demo","u":"x"}`, `{s:"demo","u":"x"}`,
		`{"s":"demo"}`, `{"u":"x"}`, `{"s":"","u":"x"}`, `{"s":"demo","u":"x","n":""}`,
		`{"s":1,"u":"x"}`, `{"s":"demo","u":["x"]}`, `{"s":"demo","u":"x","w":"1280"}`,
		`{"s":"demo","u":"x","w":01}`, `{"s":"demo","u":"x","w":1.}`, `{"s":"demo","u":"x","w":-}`, `{"s":"demo","u":"x","w":1e}`,
		`{"s":"demo","u":"x","c":yes}`, `{"s":"demo","u":"x","c":nul}`, `{"s":"demo","u":"x","c":"1"}`,
		`{"s":"demo","u":"x","p":[]}`, `{"s":"demo","u":"x","p":{"a":{}}}`, `{"s":"demo","u":"x","p":{"a":[1]}}`, `{"s":"demo","u":"x","p":{"a"}}`,
		"{\"s\":\"de\nmo\",\"u\":\"x\"}", `{"s":"de\mo","u":"x"}`, `{"s":"\u12","u":"x"}`, `{"s":"\uzzzz","u":"x"}`,
		`{"s":"demo","u":"x","z":"\q"}`, "{\"s\":\"demo\",\"u\":\"x\",\"z\":\"\x01\"}", `{"s":"demo","u":"x","z":tru}`,
		deep,
	} {
		if b, err := parseBody(t, body); err == nil {
			t.Errorf("accepted %q as %+v", body, b)
		}
	}
}

func TestParseEventBodyAliases(t *testing.T) {
	body := []byte(`{"s":"demo","u":"https://example.com/"}`)
	var sc scratch
	var b beacon
	if err := parseEventBody(body, &sc, &b); err != nil {
		t.Fatal(err)
	}
	if len(sc.buf) != 0 {
		t.Fatalf("plain strings were copied to scratch (%d bytes)", len(sc.buf))
	}
}

// FuzzEventBody checks the beacon parser against encoding/json: it never
// panics, accepts only JSON, agrees on the decoded strings, yields valid
// UTF-8 and respects every cap.
func FuzzEventBody(f *testing.F) {
	for _, s := range []string{
		`{"s":"demo","u":"https://example.com/"}`,
		benchEventBody,
		`{"s":"demo","n":"engagement","u":"https://e.com/","t":1500,"d":80,"w":1e3}`,
		`{"s":"d\ud800","u":"\u00e9\ud83d\ude00","z":[{"a":[null,true,-0.1e-2]}]}`,
		"{\"s\":\"\xff\",\"u\":\"x\",\"p\":{\"\xc3\":\"\xe2\x82\"}}",
		`{"s":"demo","u":"x","p":{"a":1,"a":2,"b":"` + strings.Repeat("v", 2100) + `"}}`,
		`{"s":"demo",`,
		`{"s":"o","u":"x","s":null}`,
		`[[[[[[`,
		`{"s":"demo","u":"x","n":"Nul\u0000Name","p":{"k\u0000":"v\u0000","\u2028":"\u001b[0m"}}`,
		"{\"s\":\"demo\",\"u\":\"x\",\"n\":\"a\x7f\xc2\x85\xe2\x80\xa8\\r\\n\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var sc scratch
		var b beacon
		err := parseEventBody(body, &sc, &b)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		for _, v := range append([]string{b.site, b.name, b.url, b.ref}, append(b.propKeys, b.propValues...)...) {
			if !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 %q from %q", v, body)
			}
		}
		if len(b.name) > maxNameLen || len(b.url) > maxURLLen || len(b.ref) > maxURLLen || len(b.propKeys) > maxProps || len(b.propKeys) != len(b.propValues) {
			t.Fatalf("caps exceeded: %+v", b)
		}
		for i, k := range b.propKeys {
			if k == "" || len(k) > maxPropKeyLen || len(b.propValues[i]) > maxPropValLen {
				t.Fatalf("prop caps exceeded: %q=%q", k, b.propValues[i])
			}
			if slices.Index(b.propKeys, k) != i {
				t.Fatalf("duplicate prop %q", k)
			}
		}
		for _, v := range append([]string{b.site, b.name, b.url, b.ref}, append(b.propKeys, b.propValues...)...) {
			if i := strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) || r == 0x2028 || r == 0x2029 }); i >= 0 {
				t.Fatalf("control character in %q from %q", v, body)
			}
		}
		if b.hasName && !strings.ContainsFunc(b.name, func(r rune) bool { return unicode.IsGraphic(r) && !unicode.IsSpace(r) }) {
			t.Fatalf("unprintable name %q accepted from %q", b.name, body)
		}
		var ref map[string]any
		if err := json.Unmarshal(body, &ref); err != nil {
			t.Fatalf("encoding/json rejects what we accepted: %v", err)
		}
		if s, _ := ref["s"].(string); refClean(s) != b.site {
			t.Fatalf("site %q, encoding/json says %q", b.site, s)
		}
		if u, _ := ref["u"].(string); len(refClean(u)) <= maxURLLen && refClean(u) != b.url {
			t.Fatalf("url %q, encoding/json says %q", b.url, u)
		}
		if n, ok := ref["n"].(string); ok && len(refClean(n)) <= maxNameLen && refClean(n) != b.name {
			t.Fatalf("name %q, encoding/json says %q", b.name, n)
		}
	})
}

// refClean is the fuzz test's own statement of text.go's rule, over
// what encoding/json decoded: word-separating controls become a space,
// the other C0, DEL and C1 characters go.
func refClean(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\v', '\f', '\r', 0x85, 0x2028, 0x2029:
			return ' '
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}
