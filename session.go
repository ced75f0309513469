package mote

import "time"

// SessionRow is one row of the sessions table (a VersionedCollapsingMergeTree):
// the state of one visit. Every update of a visit writes the previous state
// again with Sign -1 (same Version) and the new state with Sign +1 and
// Version+1; ClickHouse folds the pairs on merge. Field names follow the
// columns of storage/migrations/0003_sessions.sql.
//
// Like an Event, a SessionRow handed over on the hit path may hold strings
// that are only valid until the call returns; whoever keeps it copies it.
type SessionRow struct {
	SiteID    string
	SessionID uint64
	VisitorID uint64
	StartTS   time.Time // first hit, UTC
	EndTS     time.Time // latest hit or engagement, UTC

	Hostname  string
	EntryPage string
	ExitPage  string
	Pageviews uint32
	Events    uint32
	DurationS uint32 // EndTS - StartTS in whole seconds
	Bounce    uint8  // 1 while one pageview and no engagement

	// First-touch attribution: the hit that started the visit.
	ReferrerHost   string
	ReferrerSource string
	Channel        string
	UTMSource      string
	UTMMedium      string
	UTMCampaign    string
	UTMTerm        string
	UTMContent     string
	Country        string
	Region         string
	City           string
	Browser        string
	OS             string
	Device         string
	Screen         string

	Sign    int8 // +1 state, -1 cancel of a previous state
	Version uint32

	// BatchID is the spool batch that stored the row (set by the Batcher,
	// as for events): a replay after a crash or an outage counts the
	// rows stored under it and inserts only the rest.
	BatchID uint64
	// SpoolID is the spool (Spool.ID: one collector's) whose hits wrote
	// the row, set by the Batcher. A restarting collector restores only
	// its own visits: with several collectors, another's visit would be
	// continued from a state that collector may since have updated.
	SpoolID uint64
}
