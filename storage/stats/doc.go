// Package stats is the read side of storage: the queries behind the
// dashboards and the stats API (aggregate, timeseries, breakdowns, goals,
// realtime, privacy, campaign reports) and the SQL builder they share
// (plan.go). They take a storage.SQL, so the same functions run on chDB and
// on a ClickHouse server, and return plain Go values: dashboards only
// formats them. It reads; the write side (spool, Batcher, SessionWriter)
// is storage and storage/spool.
//
// Every count of a period is the sum of its site-local days' (days.go): a
// finished day is read from its summary in daily_stats when the query has
// no filter, and from the raw tables otherwise (summary.go: how a summary
// is built, and how a reader knows it is still exact); a day not yet
// summarised from the counts the Batcher kept as it stored it, while they
// cover every row stored for it (day_counts, storage.DayCounter;
// summary.go's countedDays), else the pages of a day not yet over from a
// summary of its prefix and its latest hits (prefix.go). A filtered card
// over a period of very many rows reads a sample of visitors and says so
// (sample.go).
//
// The raw tables: events (visitors, pageviews, custom events,
// engagement; page, event and prop breakdowns) and sessions (visits,
// bounces, durations; every breakdown by a property of the visit: entry
// and exit page, source, geo, device). Web stats read only pageview,
// event and engagement rows; email opens and clicks are campaign reports.
//
// The SQL sticks to what ClickHouse 18.16 (the Debian test server) and
// 26.x (chDB) both run: toStartOfHour/toStartOfDay/toMonday/toStartOfMonth
// with a time zone argument, no window functions, no WITH FILL (empty
// buckets are filled in Go). Rows below a site's k-anonymity threshold
// are folded into "(other)" (Other).
package stats
