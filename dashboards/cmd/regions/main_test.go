package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/mote-analytics/mote/internal/testenv"
)

// sub builds a City record in country c whose first subdivision is code s
// named en (no English name when en is empty), with a second subdivision
// that must not count: enrich stores the first.
func sub(c, s, en string) mmdbtype.Map {
	names := mmdbtype.Map{"de": mmdbtype.String(en + " (de)")}
	if en != "" {
		names["en"] = mmdbtype.String(en)
	}
	return mmdbtype.Map{
		"country": mmdbtype.Map{"iso_code": mmdbtype.String(c)},
		"subdivisions": mmdbtype.Slice{
			mmdbtype.Map{"iso_code": mmdbtype.String(s), "names": names},
			mmdbtype.Map{"iso_code": mmdbtype.String("ZZ"), "names": mmdbtype.Map{"en": mmdbtype.String("second level")}},
		},
	}
}

// TestBuild: the table's exact bytes for a small database: grouped by
// country, keys sorted, one name per code (the one more networks carry),
// records without a country, a subdivision or an English name left out.
func TestBuild(t *testing.T) {
	db := filepath.Join(t.TempDir(), "city.mmdb")
	testenv.WriteMMDB(t, db, "GeoIP2-City", map[string]mmdbtype.Map{
		"1.0.0.0/24": sub("US", "CA", "California"),
		"1.0.1.0/24": sub("US", "CA", "California"), // the same name from another record
		"1.0.2.0/24": sub("US", "TX", "Texas"),
		"2.0.0.0/24": sub("FR", "IDF", "Île-de-France"),
		"2.0.1.0/24": sub("DE", "BY", "Bavaria"),
		"2.0.2.0/24": sub("DE", "BY", "Bayern-Old"), // one network against the next two: loses
		"2.0.3.0/24": sub("DE", "BY", "Bavaria"),
		"2.0.4.0/24": sub("NL", "NH", "North Holland"),
		"2.0.5.0/24": sub("NL", "NH", "Noord-Holland"), // a tie: the first in byte order wins
		"3.0.0.0/24": sub("JP", "13", ""),              // no English name
		"3.0.1.0/24": sub("", "XX", "No country"),      // no country
		"3.0.2.0/24": testenv.GeoRecord("IT", "", "Rome"),
		"3.0.3.0/24": sub("GB", "", "No code"),
		"2a00::/32":  sub("CA", "QC", "Quebec"), // IPv6 networks are walked too
		"2a01::/32":  sub("US", "CA", "California"),
	})
	b, n, err := build(db)
	if err != nil {
		t.Fatal(err)
	}
	var got table
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	want := `{"CA":{"QC":"Quebec"},"DE":{"BY":"Bavaria"},"FR":{"IDF":"Île-de-France"},"NL":{"NH":"Noord-Holland"},"US":{"CA":"California","TX":"Texas"}}`
	if r, _ := json.Marshal(got.Regions); string(r) != want {
		t.Errorf("regions\n got %s\nwant %s", r, want)
	}
	if n != 6 {
		t.Errorf("count %d, want 6", n)
	}
	if !strings.HasPrefix(string(b), `{"source":"Subdivision names in English from GeoIP2-City (built `) ||
		!strings.Contains(got.Source, "GeoLite2 data created by MaxMind") || !strings.Contains(got.Source, "CC BY-SA 4.0") {
		t.Errorf("source: %s", got.Source)
	}
	if !bytes.HasSuffix(b, []byte("\"}}}\n")) || bytes.Contains(b, []byte(`\u00`)) {
		t.Errorf("want one line of unescaped UTF-8 ending in a newline: %q", b[max(0, len(b)-40):])
	}
	// The same database gives the same bytes, however the walk went.
	if again, _, _ := build(db); !bytes.Equal(again, b) {
		t.Error("two builds differ")
	}

	if _, _, err := build(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("a missing database builds")
	}
	empty := filepath.Join(t.TempDir(), "country.mmdb")
	testenv.WriteMMDB(t, empty, "GeoIP2-Country", map[string]mmdbtype.Map{"1.0.0.0/24": testenv.GeoRecord("US", "", "")})
	if _, _, err := build(empty); err == nil || !strings.Contains(err.Error(), "no subdivision") {
		t.Errorf("a database without subdivisions: %v", err)
	}
}

// TestCommittedTable: ui/regions.json is what this command builds from the
// pinned GeoLite2 City (so a bumped database without `make dashboard-ui`
// is caught), and it names the regions people know: US-CA is California.
func TestCommittedTable(t *testing.T) {
	b, n, err := build(testenv.GeoLite2City(t))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "..", "ui", "regions.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, committed) {
		t.Error("dashboards/ui/regions.json differs from what dashboards/cmd/regions builds from the pinned GeoLite2 City: run make dashboard-ui and commit")
	}
	var got table
	if err := json.Unmarshal(committed, &got); err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]string{
		"US-CA": "California", "US-NY": "New York", "DE-BY": "Bavaria", "DE-BE": "Land Berlin", "FR-IDF": "Île-de-France",
		"NL-NH": "North Holland", "GB-ENG": "England", "JP-13": "Tokyo", "CA-QC": "Quebec", "BR-SP": "Sao Paulo",
	} {
		c, s, _ := strings.Cut(code, "-")
		if name := got.Regions[c][s]; name != want {
			t.Errorf("%s is %q, want %q", code, name, want)
		}
	}
	// The page's lookup relies on the codes' shape.
	country, subdivision := regexp.MustCompile(`^[A-Z]{2}$`), regexp.MustCompile(`^[A-Z0-9]{1,3}$`)
	count := 0
	for c, subs := range got.Regions {
		for s, name := range subs {
			count++
			if !country.MatchString(c) || !subdivision.MatchString(s) || strings.TrimSpace(name) == "" {
				t.Errorf("entry %s-%s %q", c, s, name)
			}
		}
	}
	if count != n || n < 3000 {
		t.Errorf("%d entries, built %d: want the same, above 3,000", count, n)
	}
}
