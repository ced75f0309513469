// Package versions holds the pinned versions of the third-party files
// `make` fetches (libchdb.so and the GeoLite2 City database), read from
// versions.env, which deploy/dev/fetch-chdb.sh and fetch-geoip.sh source:
// one declaration for the scripts, the code and the tests. It reads no
// environment.
package versions
