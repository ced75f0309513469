package main

import (
	"testing"

	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage/embedded"
)

// testenv keeps its own copies of the pinned versions (the packages whose
// tests use it cannot be imported by it); they must name what serve uses.
func TestPinnedVersionsAgree(t *testing.T) {
	if testenv.ChDBVersion != embedded.LibVersion {
		t.Errorf("testenv.ChDBVersion %q, embedded.LibVersion %q", testenv.ChDBVersion, embedded.LibVersion)
	}
	if testenv.GeoIPDatabaseVersion != enrich.GeoIPDatabaseVersion {
		t.Errorf("testenv.GeoIPDatabaseVersion %q, enrich.GeoIPDatabaseVersion %q", testenv.GeoIPDatabaseVersion, enrich.GeoIPDatabaseVersion)
	}
	if testenv.GeoLite2CityPath() != enrich.DefaultGeoIPPath() {
		t.Errorf("testenv looks for GeoLite2 at %s, serve at %s", testenv.GeoLite2CityPath(), enrich.DefaultGeoIPPath())
	}
}
