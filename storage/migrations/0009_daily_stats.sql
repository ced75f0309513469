-- Per-day summaries, so that a dashboard's cost grows with days and
-- distinct values, not with events (see storage/stats, "Summaries").
--
-- daily_stats_changes: a counter per site and 15-minute UTC slot, added to
-- by the Batcher after every batch it stores (for the slots of its events
-- and of the first and last hit of its visits). A day whose counter grew
-- since it was summarised is read from the raw tables until it is
-- summarised again. Slots are 15 minutes so that every time zone's day
-- (some are offset by 30 or 45 minutes) is a whole number of slots.
CREATE TABLE IF NOT EXISTS {{table "daily_stats_changes"}}
(
    site_id {{lc "String"}},
    slot DateTime('UTC'),
    n UInt64
)
ENGINE = {{engine "daily_stats_changes" "SummingMergeTree(n)"}}
PARTITION BY toYYYYMM(slot)
ORDER BY (site_id, slot)
{{ttl "slot"}}SETTINGS index_granularity = 8192;{{distributed "daily_stats_changes" "cityHash64(site_id)"}}

-- daily_stats_done: one row per summary written, after all its rows: the
-- site's day in time zone tz, the generation (gen) its rows carry, and the
-- changes counter of the day it covers. Readers take the latest
-- generation of a day (argMax by gen), and use it only where covered still
-- equals the day's counter.
CREATE TABLE IF NOT EXISTS {{table "daily_stats_done"}}
(
    site_id {{lc "String"}},
    tz String,
    day Date,
    gen UInt64,
    covered UInt64
)
ENGINE = {{engine "daily_stats_done" "MergeTree"}}
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, gen)
{{ttl "day"}}SETTINGS index_granularity = 8192;{{distributed "daily_stats_done" "cityHash64(site_id)"}}

-- daily_stats: the summary rows. dimension is a breakdown dimension ("" for
-- the whole site, "prop:KEY" for a property) and value one of its values;
-- the counters are those of storage/stats's Metrics for that day. Only the
-- rows of a day's latest done generation are read; the Summarizer deletes
-- the older generations of a day it rebuilt.
CREATE TABLE IF NOT EXISTS {{table "daily_stats"}}
(
    site_id {{lc "String"}},
    dimension {{lc "String"}},
    day Date,
    gen UInt64,
    value String,
    visitors UInt64,
    pageviews UInt64,
    events UInt64,
    engagements UInt64,
    engagement_ms UInt64,
    scroll_sum UInt64,
    visits Int64,
    bounces Int64,
    duration_s Int64,
    session_pageviews Int64,
    session_events Int64
)
ENGINE = {{engine "daily_stats" "MergeTree"}}
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, dimension, day, gen, value)
{{ttl "day"}}SETTINGS index_granularity = 8192;{{distributed "daily_stats" "cityHash64(site_id, day)"}}

-- Every day already stored is changed as far as the summaries know: the
-- summariser then builds them (oldest days first, resumably: each day is
-- done or not). Running this again after a crash only adds to counters.
INSERT INTO daily_stats_changes (site_id, slot, n)
SELECT site_id, toStartOfFifteenMinutes(ts) AS slot, count() FROM events GROUP BY site_id, slot
