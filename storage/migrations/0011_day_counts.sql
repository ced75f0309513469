-- Counters of the days not yet summarised, kept by the Batcher as it
-- stores each batch, so that "today" is read from a few rows instead of
-- its raw hits (see storage/stats, "Counted days", and storage's
-- DayCounter).
--
-- day_counts: per site, the site's time zone tz (the day is a calendar
-- day there), dimension ("" for the whole site) and value, what each
-- batch added to the counters of storage/stats's Metrics: visitors are
-- the hits that were their visitor's first counted hit of the day, visits
-- and their sums are signed (a visit's update cancels its previous
-- state). n adds up what the batches added to the day's slots in
-- daily_stats_slots.n: a day's counts are used only while the two agree,
-- i.e. every batch that changed the day was counted once. Counts are
-- written only for the days around now; an older day is summarised.
CREATE TABLE IF NOT EXISTS {{table "day_counts"}}
(
    site_id {{lc "String"}},
    tz String,
    day Date,
    dimension {{lc "String"}},
    value String,
    n UInt64,
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
ENGINE = {{engine "day_counts" "SummingMergeTree"}}
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, tz, day, dimension, value)
{{ttl "day"}}SETTINGS index_granularity = 8192;{{distributed "day_counts" "cityHash64(site_id)"}}
