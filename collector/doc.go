// Package collector is Mote's public beacon server: it receives pageviews,
// custom events and engagement beacons from the JS tracker (POST /api/event),
// the no-JS pixel (GET /p.gif) and email opens and clicks (GET /o/..., /c/...,
// email.go), serves the tracker itself (GET /m.js, script.go), turns each
// accepted hit into a mote.Event and hands it to a Sink (the write-ahead
// spool) before it answers.
//
// fasthttp is used because the hit path must stay close to a bare server
// answering a GIF: it reuses request contexts and buffers, so a hit can be
// parsed, checked, enriched and spooled without a single heap allocation.
// fasthttp never leaves this package; callers see only net.Listener, mote
// and enrich types and the Sink, Suppressor and Campaigns interfaces.
//
// What a hit goes through, in order:
//
//  1. limits enforced by the server itself: request line + headers within
//     Config.ReadBufferSize (431), URL within MaxURLBytes (414), body within
//     Config.MaxBodyBytes (413), read/write/idle timeouts against slow
//     clients, connections per address, and the per-network rate limit
//     (ratelimit.go, 429) keyed on the truncated /24 or /48;
//  2. parsing: the pixel's query string or the beacon's JSON body, with
//     this package's own allocation-free parsers; invalid UTF-8 is replaced
//     by U+FFFD, never stored raw;
//  3. the client address, from the socket or, behind a trusted proxy, from
//     X-Forwarded-For / Forwarded (see clientip.go). It is used for geo, the
//     visitor hash and email machine-open verdicts, then forgotten: never
//     logged or stored;
//  4. the site gate: an unknown site id, or a page host that the site does
//     not list, stores nothing but is answered like a stored hit, so that a
//     page cannot probe the configuration;
//  5. the privacy gate (hit.go): DNT, GPC, missing consent on a
//     consent-required site, bots, prefetch and referrer spam store nothing
//     but an anonymous counter (Suppressor), with the same answer;
//  6. enrichment (package enrich): minimised URL and UTM values, referrer
//     source and channel, geo at the site's precision, browser/OS/device
//     with client hints (Accept-CH is sent), the daily visitor ID and the
//     session;
//  7. the Event goes to the Sink; an error there is answered 503.
//
// Request-scoped strings alias fasthttp's buffers or pooled scratch space;
// the Sink must copy what it keeps before Append returns.
package collector
