-- sessions: one logical row per visit, kept up to date by the collector's
-- session cache. Each update writes the previous state again with sign = -1
-- and the new state with sign = +1 and a higher version; the
-- VersionedCollapsingMergeTree folds the pairs on merge, and queries that
-- must be exact before a merge use sum(sign)-weighted aggregates.
--
--   start_ts, end_ts       first and last hit of the visit
--   entry_page, exit_page  pathname of the first and of the latest pageview
--   pageviews, events      counts of pageview and custom event hits
--   duration_s             end_ts - start_ts, in seconds
--   bounce                 1 while the visit has one pageview and no engagement
--   the rest               first-touch attribution: the referrer, UTM, geo
--                          and device of the hit that started the visit
--
-- The -1 row repeats start_ts, so both rows of a pair always fall in the same
-- partition and sort next to each other (session_id is in the key).
CREATE TABLE IF NOT EXISTS {{table "sessions"}}
(
    site_id {{lc "String"}},
    session_id UInt64,
    visitor_id UInt64,
    start_ts DateTime('UTC'),
    end_ts DateTime('UTC'),
    hostname String,
    entry_page String,
    exit_page String,
    pageviews UInt32,
    events UInt32,
    duration_s UInt32,
    bounce UInt8,
    referrer_host String,
    referrer_source String,
    channel String,
    utm_source String,
    utm_medium String,
    utm_campaign String,
    utm_term String,
    utm_content String,
    country {{lc "String"}},
    region {{lc "String"}},
    city {{lc "String"}},
    browser {{lc "String"}},
    os {{lc "String"}},
    device {{lc "String"}},
    screen {{lc "String"}},
    sign Int8,
    version UInt32
)
ENGINE = {{engine "sessions" "VersionedCollapsingMergeTree(sign, version)"}}
PARTITION BY toYYYYMM(start_ts)
ORDER BY (site_id, toDate(start_ts), visitor_id, session_id)
{{ttl "start_ts"}}SETTINGS index_granularity = 8192;{{distributed "sessions" "murmurHash3_64(visitor_id)"}}
