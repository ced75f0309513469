// Package enrich holds the pure, fast steps that turn a parsed request into
// a mote.Event: URL minimisation, referrer reduction and (in later issues)
// IP truncation with geo lookup, user-agent parsing, visitor hashing with
// daily salts, sessions and email machine-open detection.
//
// Every step here is a plain function (or a method on a reusable struct)
// without I/O, so the collector can run them on the hit path without locks
// and without allocating: they take strings that may alias request buffers
// and return substrings of them where they can. A caller that keeps a result
// beyond the request copies it, exactly as it copies the Event.
//
// The package imports only mote and the standard library (plus, later, the
// geo and user-agent libraries); it never reaches storage or the network.
package enrich
