-- Summaries of a day so far, so that "today" (and a day whose visits still
-- go on) is read from a summary too, up to a recent slot, plus the few
-- minutes of hits after it (see storage/stats, "Day prefixes").
--
-- daily_stats_slots replaces daily_stats_changes (0009) and adds a second
-- counter to it, so that the Batcher still marks a stored batch with one
-- insert (a second table cost a part written per batch: ~10 ms a
-- 10k-row batch on 2 cores). Per site and 15-minute UTC slot:
--   n     rows stored for the slot's days (events, and the first and last
--         hit of visits), as daily_stats_changes.n: a day's summary is
--         used while the day's n is what it was built under;
--   hits  events rows only: a prefix is used while the hits of its slots
--         are what it was built under (a visit going on marks its start
--         slot in n with every batch, which would leave a day's morning
--         forever changed).
CREATE TABLE IF NOT EXISTS {{table "daily_stats_slots"}}
(
    site_id {{lc "String"}},
    slot DateTime('UTC'),
    n UInt64,
    hits UInt64
)
ENGINE = {{engine "daily_stats_slots" "SummingMergeTree((n, hits))"}}
PARTITION BY toYYYYMM(slot)
ORDER BY (site_id, slot)
{{ttl "slot"}}SETTINGS index_granularity = 8192;{{distributed "daily_stats_slots" "cityHash64(site_id)"}}

-- daily_stats_prefixes: one row per day prefix summarised, after its rows
-- (in daily_stats under gen, event dimensions only): the site's day in
-- zone tz, the hits before until_ts, and the hits counter of the slots
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

-- The counters so far move over unchanged (the summaries' covered values
-- stay valid), and the hits already stored are counted. Another process
-- migrating at the same time, or this one again after a crash before 0010
-- was recorded, only adds to counters (at worst summaries are rebuilt);
-- the copy finding the old table gone counts as done (storage.settled:
-- whoever dropped it made the copy).
INSERT INTO daily_stats_slots (site_id, slot, n, hits)
SELECT site_id, slot, sum(n), toUInt64(0) FROM daily_stats_changes GROUP BY site_id, slot;
INSERT INTO daily_stats_slots (site_id, slot, n, hits)
SELECT site_id, toStartOfFifteenMinutes(ts) AS slot, toUInt64(0), count() FROM events GROUP BY site_id, slot;
{{drop "daily_stats_changes"}}
