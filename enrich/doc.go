// Package enrich holds the pure, fast steps that turn a parsed request into
// a mote.Event: URL minimisation, referrer classification, IP truncation
// with geo lookup, user-agent parsing with client hints and bot detection,
// visitor hashing with daily salts, sessions, and for email the
// machine-open verdict and the keyed recipient hash and link signature.
//
// Every step here is a plain function (or a method on a reusable struct)
// without I/O, so the collector can run them on the hit path without locks
// and without allocating: they take strings that may alias request buffers
// and return substrings of them where they can. A caller that keeps a result
// beyond the request copies it, exactly as it copies the Event.
//
// The package imports only mote, the standard library and its libraries
// (geoip2-golang, mssola/useragent, dchest/siphash); it never reaches
// storage, the network or the environment: cmd passes the database's path.
//
// Geo, user agent and bots (geo*.go, agent*.go, bot*.go): TruncateIP cuts
// an address to its network (/24, /48) before anything else sees it; Geo
// looks the network up in a GeoIP2/GeoLite2 City database (geoip2-golang)
// and keeps country, ISO 3166-2 region and English city at a per-site
// Precision; AgentParser turns a User-Agent (mssola/useragent) plus the
// Sec-CH-UA client hints into browser, major version, OS, OS version and
// device class and applies isbot's public pattern list (data/isbot). Both
// both sit behind bounded, lock-free caches (slotCache) keyed on the
// truncated network or the exact header strings, so the steady state costs
// about 100 ns and no allocation per hit; a cache never holds a full IP.
//
// Pages, referrers, visitors and sessions (url*.go, referrer*.go,
// visitor*.go, salt*.go, session*.go): MinimizeURL keeps host, path,
// allow-listed query keys (ref, source, per-site keys) and the decoded
// utm_* values, drops fragments unless the site routes by hash, and
// replaces e-mail addresses and token-like segments by ":email" and
// ":token". ClassifyReferrer maps a referrer host to a source and channel
// from embedded public lists (data/README.md) and flags referrer spam.
// VisitorID is SipHash-2-4 keyed with the day's salt; SaltKeeper holds one
// crypto/rand salt per UTC day in memory only (shared through SaltStore,
// which storage implements on a Memory-engine table), keeps yesterday's 30
// minutes past midnight for running visits, then zeroes and deletes it.
// Sessions is a bounded, sharded cache of running visits that emits
// cancel/state row pairs for the VersionedCollapsingMergeTree sessions
// table. Steady state: no allocation per hit.
//
// Email (machineopen.go, emaillink.go): MachineOpens.Verdict flags opens and
// clicks by mail-privacy proxies, image proxies and security scanners
// (data/apple_mpp_egress.csv, data/machine_open_agents.tsv) on the full
// address before it is dropped; recipient tokens become keyed hashes under
// the campaign key, and click links carry a truncated HMAC of the URL.
package enrich
