package trackerjs

import _ "embed"

// Script is dist/m.js, the minified tracker, built by `make tracker` and
// committed so that `go build` needs no npm step. cmd/mote hands it to the
// collector, which serves it at GET /m.js.
//
//go:embed dist/m.js
var Script []byte
