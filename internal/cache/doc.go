// Package cache names Mote's download cache, where `make` puts the large
// third-party files that do not belong in the repository (libchdb.so, the
// GeoLite2 City database): ${XDG_CACHE_HOME:-$HOME/.cache}/mote. The fetch
// scripts in deploy/dev use the same rule, and the same pinned versions
// (internal/versions). Only cmd and tests (internal/testenv) use it: it
// reads the environment.
package cache
