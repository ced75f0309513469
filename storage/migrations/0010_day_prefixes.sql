-- Summaries of a day so far, so that "today" (and a day whose visits still
-- go on) is read from a summary too, up to a recent slot, plus the few
-- minutes of hits after it (see storage/stats, "Day prefixes").
--
-- daily_stats_hit_changes: daily_stats_changes for events rows only (a
-- visit going on marks its start slot in daily_stats_changes with every
-- batch, which would leave a day's morning forever changed). A prefix is
-- read only while the events counter of its slots is what it was built
-- under.
CREATE TABLE IF NOT EXISTS {{table "daily_stats_hit_changes"}}
(
    site_id {{lc "String"}},
    slot DateTime('UTC'),
    n UInt64
)
ENGINE = {{engine "daily_stats_hit_changes" "SummingMergeTree(n)"}}
PARTITION BY toYYYYMM(slot)
ORDER BY (site_id, slot)
{{ttl "slot"}}SETTINGS index_granularity = 8192;{{distributed "daily_stats_hit_changes" "cityHash64(site_id)"}}

-- daily_stats_prefixes: one row per day prefix summarised, after its rows
-- (in daily_stats under gen, event dimensions only): the site's day in
-- zone tz, the hits before until_ts, and the events counter of the slots
-- before until_ts that it covers. Readers take a day's latest generation.
CREATE TABLE IF NOT EXISTS {{table "daily_stats_prefixes"}}
(
    site_id {{lc "String"}},
    tz String,
    day Date,
    gen UInt64,
    until_ts DateTime('UTC'),
    covered UInt64
)
ENGINE = {{engine "daily_stats_prefixes" "MergeTree"}}
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, gen)
{{ttl "day"}}SETTINGS index_granularity = 8192;{{distributed "daily_stats_prefixes" "cityHash64(site_id)"}}

-- The hits already stored are counted, as 0009 counted them for the days.
INSERT INTO daily_stats_hit_changes (site_id, slot, n)
SELECT site_id, toStartOfFifteenMinutes(ts) AS slot, count() FROM events GROUP BY site_id, slot
