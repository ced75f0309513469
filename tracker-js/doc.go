// Package trackerjs holds Mote's browser tracker: the JavaScript source in
// src/, its esbuild build (build.mjs, which fails when the script gzips to
// more than 1,500 bytes) and the built dist/m.js, embedded as Script.
//
// The collector does not import this package: it serves whatever bytes
// cmd/mote passes in collector.Config.Script, so the hit path stays free
// of build artefacts and tests can serve any script.
//
// The tests check the committed build against the source, the size budget,
// and, end to end, the tracker in Debian's Chromium (driven by npm
// playwright-core) against a real `mote serve` and ClickHouse.
package trackerjs
