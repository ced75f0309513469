-- suppressed: the only trace of a hit that was not stored (DNT, GPC, no
-- consent, bot, prefetch, opt-out, closed campaign): an anonymous counter per
-- site, UTC day and reason (mote.SuppressReason labels). Writers insert
-- (site, day, reason, n) rows; SummingMergeTree adds them up on merge, so
-- readers use sum(count).
CREATE TABLE IF NOT EXISTS {{table "suppressed"}}
(
    site_id {{lc "String"}},
    day Date,
    reason {{lc "String"}},
    count UInt64
)
ENGINE = {{engine "suppressed" "SummingMergeTree(count)"}}
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, reason)
SETTINGS index_granularity = 8192;{{distributed "suppressed" "cityHash64(site_id, reason)"}}
