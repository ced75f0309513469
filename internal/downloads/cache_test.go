package downloads

import (
	"path/filepath"
	"testing"

	"github.com/mote-analytics/mote/internal/versions"
)

func TestPath(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got, want := Path("chdb", "1", "libchdb.so"), filepath.FromSlash("/xdg/mote/chdb/1/libchdb.so"); got != want {
		t.Errorf("with XDG_CACHE_HOME: %q, want %q", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got, want := Path("geoip"), filepath.FromSlash("/home/u/.cache/mote/geoip"); got != want {
		t.Errorf("with HOME: %q, want %q", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "/cache")
	if got, want := ChDBLib(), filepath.FromSlash("/cache/mote/chdb/"+versions.ChDB+"/libchdb.so"); got != want {
		t.Errorf("ChDBLib = %s, want %s", got, want)
	}
	if got, want := GeoLite2City(), filepath.FromSlash("/cache/mote/geoip/"+versions.GeoIPDatabase+"/GeoLite2-City.mmdb"); got != want {
		t.Errorf("GeoLite2City = %s, want %s", got, want)
	}
}
