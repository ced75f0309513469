-- campaigns: email campaigns tracked by open pixels and signed click links.
-- recipient_key hashes per-recipient tokens and link_key signs click URLs;
-- they are the only secrets in this database and live only for the tracking
-- window: when window_end passes, a new version of the row is written with
-- both keys empty (and the table optimised), after which the stored
-- events.recipient_id hashes can no longer be linked to any token.
-- ReplacingMergeTree(updated) keeps the latest version of each campaign.
CREATE TABLE IF NOT EXISTS {{table "campaigns"}}
(
    site_id {{lc "String"}},
    campaign_id String,
    name String,
    created DateTime('UTC'),
    window_end DateTime('UTC'),
    sends UInt64,
    recipient_key String,
    link_key String,
    updated DateTime('UTC')
)
ENGINE = {{engine "campaigns" "ReplacingMergeTree(updated)"}}
ORDER BY (site_id, campaign_id)
SETTINGS index_granularity = 8192;{{distributed "campaigns" "cityHash64(site_id, campaign_id)"}}
