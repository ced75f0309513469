// Package downloads names where `make` puts the large third-party files
// that do not belong in the repository (libchdb.so, the GeoLite2 City
// database): ${XDG_CACHE_HOME:-$HOME/.cache}/mote, the user's cache
// directory. (It is called downloads, not cache, because "cache" in this
// code base means an in-memory cache on the hit path.) The fetch
// scripts in deploy/dev use the same rule, and the same pinned versions
// (internal/versions). Only cmd and tests (internal/testenv) use it: it
// reads the environment.
package downloads
