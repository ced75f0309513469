-- ===== schema_migrations =====
-- schema_migrations records which numbered migrations this database has.
-- Two processes may migrate at once: both run the same idempotent DDL and
-- both record the version, so the table is a ReplacingMergeTree keyed by
-- version (duplicates collapse on merge) and readers use DISTINCT.
CREATE TABLE IF NOT EXISTS `analytics`.schema_migrations_local ON CLUSTER `mote`
(
    version UInt32,
    name String,
    applied_at DateTime('UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/schema_migrations', '{replica}', applied_at)
ORDER BY version;

CREATE TABLE IF NOT EXISTS `analytics`.schema_migrations ON CLUSTER `mote` AS `analytics`.schema_migrations_local
ENGINE = Distributed('mote', 'analytics', 'schema_migrations_local', toUInt64(version));

-- ===== events =====
-- events: one row per stored hit. The column names are the contract of the
-- stats API, the Grafana dashboards and the tests (see storage.EventColumns);
-- every INSERT names them explicitly.
--
-- ORDER BY (site_id, toDate(ts), visitor_id, ts): every dashboard query is
-- "one site, a date range", so those lead the key and prune most granules;
-- visitor_id next keeps a visitor's hits of a day together, which makes
-- uniq(visitor_id) and session queries read contiguous data and compresses
-- the repeated per-visitor strings well; ts last keeps a visit in order.
-- Monthly partitions make retention a cheap partition drop (also on servers
-- without TTL) and keep the part count low.
--
-- hostname and pathname are LowCardinality where the server has it: a site
-- has thousands of pages, not millions (the URL minimiser drops query
-- strings and redacts tokens), and grouping by the String pathname was the
-- largest part of the page breakdown (bench/BENCHMARKS.md).
CREATE TABLE IF NOT EXISTS `analytics`.events_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
    ts DateTime('UTC'),
    kind Enum8('pageview' = 1, 'event' = 2, 'engagement' = 3, 'email_open' = 4, 'email_click' = 5),
    name String,
    hostname LowCardinality(String),
    pathname LowCardinality(String),
    referrer_host String,
    referrer_source String,
    channel String,
    utm_source String,
    utm_medium String,
    utm_campaign String,
    utm_term String,
    utm_content String,
    country LowCardinality(String),
    region LowCardinality(String),
    city LowCardinality(String),
    browser LowCardinality(String),
    browser_version LowCardinality(String),
    os LowCardinality(String),
    os_version LowCardinality(String),
    device LowCardinality(String),
    screen LowCardinality(String),
    visitor_id UInt64,
    session_id UInt64,
    engagement_ms UInt32,
    scroll_depth UInt8,
    props Nested(key String, value String),
    campaign_id String,
    recipient_id UInt64,
    machine_open UInt8,
    machine_reason String,
    link_url String,
    batch_id UInt64,
    -- batch ids grow with the spool position, so a minmax index lets
    -- BatchRows (replay detection) skip almost every granule.
    INDEX batch_id_minmax batch_id TYPE minmax GRANULARITY 4
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/analytics/events', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (site_id, toDate(ts), visitor_id, ts)
TTL ts + INTERVAL 25 MONTH
SETTINGS index_granularity = 8192, replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS `analytics`.events ON CLUSTER `mote` AS `analytics`.events_local
ENGINE = Distributed('mote', 'analytics', 'events_local', murmurHash3_64(visitor_id));

-- ===== sessions =====
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
CREATE TABLE IF NOT EXISTS `analytics`.sessions_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
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
    country LowCardinality(String),
    region LowCardinality(String),
    city LowCardinality(String),
    browser LowCardinality(String),
    os LowCardinality(String),
    device LowCardinality(String),
    screen LowCardinality(String),
    sign Int8,
    version UInt32
)
ENGINE = ReplicatedVersionedCollapsingMergeTree('/clickhouse/tables/{shard}/analytics/sessions', '{replica}', sign, version)
PARTITION BY toYYYYMM(start_ts)
ORDER BY (site_id, toDate(start_ts), visitor_id, session_id)
TTL start_ts + INTERVAL 25 MONTH
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `analytics`.sessions ON CLUSTER `mote` AS `analytics`.sessions_local
ENGINE = Distributed('mote', 'analytics', 'sessions_local', murmurHash3_64(visitor_id));

-- ===== suppressed =====
-- suppressed: the only trace of a hit that was not stored (DNT, GPC, no
-- consent, bot, prefetch, opt-out, closed campaign): an anonymous counter per
-- site, UTC day and reason (mote.SuppressReason labels). Writers insert
-- (site, day, reason, n) rows; SummingMergeTree adds them up on merge, so
-- readers use sum(count).
CREATE TABLE IF NOT EXISTS `analytics`.suppressed_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
    day Date,
    reason LowCardinality(String),
    count UInt64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/analytics/suppressed', '{replica}', count)
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, reason)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `analytics`.suppressed ON CLUSTER `mote` AS `analytics`.suppressed_local
ENGINE = Distributed('mote', 'analytics', 'suppressed_local', cityHash64(site_id, reason));

-- ===== salts =====
-- salts: the daily visitor-hash salts shared by several collectors. The
-- Memory engine keeps them in RAM only: they never reach a disk, and a
-- restart of the server forgets them (a new salt is minted for the day).
-- Collectors that mint a salt at the same moment agree on the earliest
-- minted_at (argMin(salt, minted_at)); the keeper deletes yesterday's row
-- after the overlap. Never log or export this table.
CREATE TABLE IF NOT EXISTS salts
(
    day Date,
    salt String,
    minted_at DateTime('UTC')
)
ENGINE = Memory;

-- ===== campaigns =====
-- campaigns: email campaigns tracked by open pixels and signed click links.
-- recipient_key hashes per-recipient tokens and link_key signs click URLs;
-- they are the only secrets in this database and live only for the tracking
-- window: when window_end passes, a new version of the row is written with
-- both keys empty (and the table optimised), after which the stored
-- events.recipient_id hashes can no longer be linked to any token.
-- ReplacingMergeTree(updated) keeps the latest version of each campaign.
CREATE TABLE IF NOT EXISTS `analytics`.campaigns_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
    campaign_id String,
    name String,
    created DateTime('UTC'),
    window_end DateTime('UTC'),
    sends UInt64,
    recipient_key String,
    link_key String,
    updated DateTime('UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/campaigns', '{replica}', updated)
ORDER BY (site_id, campaign_id)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `analytics`.campaigns ON CLUSTER `mote` AS `analytics`.campaigns_local
ENGINE = Distributed('mote', 'analytics', 'campaigns_local', cityHash64(site_id, campaign_id));

-- ===== share_links =====
-- share_links: read-only links to one site's dashboard. The key itself is
-- shown once, when the link is made; only its SHA-256 is stored, so a copy
-- of the database opens no dashboard. Revoking writes a new version of the
-- row with revoked = 1; ReplacingMergeTree(updated) keeps the latest.
CREATE TABLE IF NOT EXISTS `analytics`.share_links_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
    link_id String,
    key_hash String,
    label String,
    created DateTime('UTC'),
    revoked UInt8,
    updated DateTime('UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/share_links', '{replica}', updated)
ORDER BY (site_id, link_id)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `analytics`.share_links ON CLUSTER `mote` AS `analytics`.share_links_local
ENGINE = Distributed('mote', 'analytics', 'share_links_local', cityHash64(site_id, link_id));

-- ===== sessions_batch_id =====
-- sessions.batch_id: the spool batch that stored the row, as events.batch_id.
-- Session rows travel in the spool with the hit they derive from and the
-- Batcher inserts them under the batch's id, so that a replay after a crash
-- or an outage counts what is stored under that id and inserts only the
-- rest (see storage.Batcher). Rows written before this migration read 0.
-- ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: the engines' Migrate
-- takes "column already exists" (a lost race, or a crash before the
-- migration was recorded) as success, as they do for tables. On a cluster
-- the routing table over the shards is created again from the altered ones.
--
-- sessions.spool_id: the spool (one collector's) whose hits wrote the row. A
-- restarting collector rebuilds its session cache from its own visits only.
ALTER TABLE `analytics`.sessions_local ON CLUSTER `mote` ADD COLUMN batch_id UInt64;

ALTER TABLE `analytics`.sessions_local ON CLUSTER `mote` ADD COLUMN spool_id UInt64;

DROP TABLE IF EXISTS `analytics`.sessions ON CLUSTER `mote`;

CREATE TABLE IF NOT EXISTS `analytics`.sessions ON CLUSTER `mote` AS `analytics`.sessions_local
ENGINE = Distributed('mote', 'analytics', 'sessions_local', murmurHash3_64(visitor_id));

-- ===== daily_stats =====
-- Per-day summaries, so that a dashboard's cost grows with days and
-- distinct values, not with events (see storage/stats, "Summaries").
--
-- daily_stats_changes: a counter per site and 15-minute UTC slot, added to
-- by the Batcher after every batch it stores (for the slots of its events
-- and of the first and last hit of its visits). A day whose counter grew
-- since it was summarised is read from the raw tables until it is
-- summarised again. Slots are 15 minutes so that every time zone's day
-- (some are offset by 30 or 45 minutes) is a whole number of slots.
CREATE TABLE IF NOT EXISTS `analytics`.daily_stats_changes_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
    slot DateTime('UTC'),
    n UInt64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/analytics/daily_stats_changes', '{replica}', n)
PARTITION BY toYYYYMM(slot)
ORDER BY (site_id, slot)
TTL slot + INTERVAL 25 MONTH
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `analytics`.daily_stats_changes ON CLUSTER `mote` AS `analytics`.daily_stats_changes_local
ENGINE = Distributed('mote', 'analytics', 'daily_stats_changes_local', cityHash64(site_id));

-- daily_stats_done: one row per summary written, after all its rows: the
-- site's day in time zone tz, the generation (gen) its rows carry, and the
-- changes counter of the day it covers. Readers take the latest
-- generation of a day (argMax by gen), and use it only where covered still
-- equals the day's counter.
CREATE TABLE IF NOT EXISTS `analytics`.daily_stats_done_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
    tz String,
    day Date,
    gen UInt64,
    covered UInt64
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/analytics/daily_stats_done', '{replica}')
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, gen)
TTL day + INTERVAL 25 MONTH
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `analytics`.daily_stats_done ON CLUSTER `mote` AS `analytics`.daily_stats_done_local
ENGINE = Distributed('mote', 'analytics', 'daily_stats_done_local', cityHash64(site_id));

-- daily_stats: the summary rows. dimension is a breakdown dimension ("" for
-- the whole site, "prop:KEY" for a property) and value one of its values;
-- the counters are those of storage/stats's Metrics for that day. Only the
-- rows of a day's latest done generation are read; the Summarizer deletes
-- the older generations of a day it rebuilt.
CREATE TABLE IF NOT EXISTS `analytics`.daily_stats_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
    dimension LowCardinality(String),
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/analytics/daily_stats', '{replica}')
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, dimension, day, gen, value)
TTL day + INTERVAL 25 MONTH
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `analytics`.daily_stats ON CLUSTER `mote` AS `analytics`.daily_stats_local
ENGINE = Distributed('mote', 'analytics', 'daily_stats_local', cityHash64(site_id, day));

-- Every day already stored is changed as far as the summaries know: the
-- summariser then builds them (oldest days first, resumably: each day is
-- done or not). Running this again after a crash only adds to counters.
INSERT INTO daily_stats_changes (site_id, slot, n)
SELECT site_id, toStartOfFifteenMinutes(ts) AS slot, count() FROM events GROUP BY site_id, slot;

-- ===== day_prefixes =====
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
CREATE TABLE IF NOT EXISTS `analytics`.daily_stats_slots_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
    slot DateTime('UTC'),
    n UInt64,
    hits UInt64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/analytics/daily_stats_slots', '{replica}', (n, hits))
PARTITION BY toYYYYMM(slot)
ORDER BY (site_id, slot)
TTL slot + INTERVAL 25 MONTH
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `analytics`.daily_stats_slots ON CLUSTER `mote` AS `analytics`.daily_stats_slots_local
ENGINE = Distributed('mote', 'analytics', 'daily_stats_slots_local', cityHash64(site_id));

-- daily_stats_prefixes: one row per day prefix summarised, after its rows
-- (in daily_stats under gen, event dimensions only): the site's day in
-- zone tz, the hits before until_ts, and the hits counter of the slots
-- before until_ts that it covers. Readers take a day's latest generation.
CREATE TABLE IF NOT EXISTS `analytics`.daily_stats_prefixes_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
    tz String,
    day Date,
    gen UInt64,
    until_ts DateTime('UTC'),
    covered UInt64
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/analytics/daily_stats_prefixes', '{replica}')
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, gen)
TTL day + INTERVAL 25 MONTH
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `analytics`.daily_stats_prefixes ON CLUSTER `mote` AS `analytics`.daily_stats_prefixes_local
ENGINE = Distributed('mote', 'analytics', 'daily_stats_prefixes_local', cityHash64(site_id));

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

DROP TABLE IF EXISTS `analytics`.daily_stats_changes ON CLUSTER `mote`;

DROP TABLE IF EXISTS `analytics`.daily_stats_changes_local ON CLUSTER `mote`;

-- ===== day_counts =====
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
CREATE TABLE IF NOT EXISTS `analytics`.day_counts_local ON CLUSTER `mote`
(
    site_id LowCardinality(String),
    tz String,
    day Date,
    dimension LowCardinality(String),
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
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/analytics/day_counts', '{replica}')
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, tz, day, dimension, value)
TTL day + INTERVAL 25 MONTH
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `analytics`.day_counts ON CLUSTER `mote` AS `analytics`.day_counts_local
ENGINE = Distributed('mote', 'analytics', 'day_counts_local', cityHash64(site_id));

