-- share_links: read-only links to one site's dashboard. The key itself is
-- shown once, when the link is made; only its SHA-256 is stored, so a copy
-- of the database opens no dashboard. Revoking writes a new version of the
-- row with revoked = 1; ReplacingMergeTree(updated) keeps the latest.
CREATE TABLE IF NOT EXISTS {{table "share_links"}}
(
    site_id {{lc "String"}},
    link_id String,
    key_hash String,
    label String,
    created DateTime('UTC'),
    revoked UInt8,
    updated DateTime('UTC')
)
ENGINE = {{engine "share_links" "ReplacingMergeTree(updated)"}}
ORDER BY (site_id, link_id)
SETTINGS index_granularity = 8192;{{distributed "share_links" "cityHash64(site_id, link_id)"}}
