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
CREATE TABLE IF NOT EXISTS {{table "events"}}
(
    site_id {{lc "String"}},
    ts DateTime('UTC'),
    kind Enum8('pageview' = 1, 'event' = 2, 'engagement' = 3, 'email_open' = 4, 'email_click' = 5),
    name String,
    hostname {{lc "String"}},
    pathname {{lc "String"}},
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
    browser_version {{lc "String"}},
    os {{lc "String"}},
    os_version {{lc "String"}},
    device {{lc "String"}},
    screen {{lc "String"}},
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
    batch_id UInt64
{{- if .BatchIndex}},
    -- batch ids grow with the spool position, so a minmax index lets
    -- BatchRows (replay detection) skip almost every granule.
    INDEX batch_id_minmax batch_id TYPE minmax GRANULARITY 4
{{- end}}
)
ENGINE = {{engine "events" "MergeTree"}}
PARTITION BY toYYYYMM(ts)
ORDER BY (site_id, toDate(ts), visitor_id, ts)
{{ttl "ts"}}SETTINGS index_granularity = 8192{{dedup}};{{distributed "events" "murmurHash3_64(visitor_id)"}}
