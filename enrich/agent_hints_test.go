package enrich

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseBrands(t *testing.T) {
	tests := []struct {
		in     string
		want   []Brand
		wantOK bool
	}{
		{`"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"`,
			[]Brand{{"Chromium", "124"}, {"Google Chrome", "124"}}, true},
		{`" Not A;Brand";v="99", "Chromium";v="96", "Google Chrome";v="96"`,
			[]Brand{{"Chromium", "96"}, {"Google Chrome", "96"}}, true},
		{`"Not/A)Brand";v="8", "Chromium";v="126", "Microsoft Edge";v="126"`,
			[]Brand{{"Chromium", "126"}, {"Microsoft Edge", "126"}}, true},
		{`"Opera";v="109",	"Not:A-Brand";v="8","Chromium";v="123"`, // tab and no space are allowed
			[]Brand{{"Opera", "109"}, {"Chromium", "123"}}, true},
		{`"A \"quoted\" \\ brand";v="1"`, []Brand{{`A "quoted" \ brand`, "1"}}, true},
		{`"Chromium";v=124;x;y=?1;z=tok/1.0`, []Brand{{"Chromium", "124"}}, true},
		{`"NotABrand";v="1"`, []Brand{{"NotABrand", "1"}}, true}, // no punctuation: not GREASE
		{`"Chromium"`, []Brand{{"Chromium", ""}}, true},
		{``, nil, true},
		{`   `, nil, true},
		{`Chromium;v="124"`, nil, false},            // a token, not a string
		{`"Chromium";v="124",`, nil, false},         // trailing comma
		{`"Chromium";v="124" "Chrome"`, nil, false}, // missing comma
		{`"Chromium`, nil, false},                   // unterminated
		{`"Chr\omium"`, nil, false},                 // bad escape
		{"\"Chr\u00e9mium\"", nil, false},           // non-ASCII
		{`"Chromium";V="1"`, nil, false},            // keys are lower case
		{`"Chromium";v=`, nil, false},               // missing value
		{`"Chromium";v=1.`, nil, false},             // bad number
		{`"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"`, // capped
			[]Brand{{"a", ""}, {"b", ""}, {"c", ""}, {"d", ""}, {"e", ""}, {"f", ""}, {"g", ""}, {"h", ""}}, true},
	}
	for _, tt := range tests {
		got, ok := ParseBrands(tt.in, nil)
		if ok != tt.wantOK || len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("ParseBrands(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseBrandsAppendsAndAllocatesNothing(t *testing.T) {
	const h = `"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"`
	dst := make([]Brand, 1, maxBrands+1)
	dst[0] = Brand{"keep", "1"}
	got, ok := ParseBrands(h, dst)
	if !ok || len(got) != 3 || got[0].Name != "keep" {
		t.Fatalf("got %v, %v", got, ok)
	}
	if bad, ok := ParseBrands(`"x",`, dst); ok || len(bad) != 1 {
		t.Fatalf("a failed parse changed dst: %v, %v", bad, ok)
	}
	allocs := testing.AllocsPerRun(100, func() { ParseBrands(h, dst[:0]) })
	if allocs != 0 {
		t.Errorf("ParseBrands allocates %v times", allocs)
	}
}

func TestParseSFString(t *testing.T) {
	for in, want := range map[string]string{`"Windows"`: "Windows", ` "macOS"`: "macOS", `"15.0.0";x=1`: "15.0.0", `""`: ""} {
		if got, ok := ParseSFString(in); !ok || got != want {
			t.Errorf("ParseSFString(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{``, `Windows`, `"Windows" x`, `"Win`, `"a","b"`} {
		if got, ok := ParseSFString(in); ok {
			t.Errorf("ParseSFString(%q) = %q, accepted", in, got)
		}
	}
	for in, want := range map[string][2]bool{"?1": {true, true}, "?0": {false, true}, " ?1": {true, true}, "": {}, "1": {}, "?2": {}} {
		if v, ok := ParseSFBoolean(in); v != want[0] || ok != want[1] {
			t.Errorf("ParseSFBoolean(%q) = %v, %v; want %v", in, v, ok, want)
		}
	}
}

// formatBrands writes a Sec-CH-UA header the way Chromium does.
func formatBrands(bs []Brand) string {
	var b strings.Builder
	for i, br := range bs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(br.Name) + `";v="` + br.Version + `"`)
	}
	return b.String()
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func FuzzParseBrands(f *testing.F) {
	f.Add(`"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"`, "Opera", "109")
	f.Add(`" Not A;Brand";v="99", "Chromium";v="96"`, `A "b" \c`, "1")
	f.Add(`"x";v=1.5;y=?0;z=tok, "y"`, "", "")
	f.Add(`"unterminated`, "Brave", "12")
	f.Fuzz(func(t *testing.T, header, name, version string) {
		// Arbitrary input: never panics, and on success every brand is
		// printable and not GREASE.
		got, ok := ParseBrands(header, nil)
		if !ok && len(got) != 0 {
			t.Fatalf("failed parse returned %v", got)
		}
		for _, b := range got {
			if !printableASCII(b.Name) || isGreaseBrand(b.Name) {
				t.Fatalf("bad brand %q from %q", b.Name, header)
			}
		}
		if len(got) > maxBrands {
			t.Fatalf("%d brands, cap is %d", len(got), maxBrands)
		}
		ParseSFString(header)
		ParseAgent(header, ClientHints{header, header, header, header})

		// Round trip: what Chromium would send parses back to the brands.
		if !printableASCII(name) || isGreaseBrand(name) || strings.ContainsAny(version, "\"\\") || !printableASCII(version) {
			return
		}
		in := []Brand{{"Chromium", "124"}, {"Not-A.Brand", "99"}, {name, version}}
		back, ok := ParseBrands(formatBrands(in), nil)
		want := []Brand{{"Chromium", "124"}, {name, version}}
		if !ok || !reflect.DeepEqual(back, want) {
			t.Fatalf("round trip of %v: %v, %v", in, back, ok)
		}
	})
}
