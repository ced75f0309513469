package cache

import (
	"path/filepath"
	"testing"
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
}
