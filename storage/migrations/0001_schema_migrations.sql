-- schema_migrations records which numbered migrations this database has.
-- Two processes may migrate at once: both run the same idempotent DDL and
-- both record the version, so the table is a ReplacingMergeTree keyed by
-- version (duplicates collapse on merge) and readers use DISTINCT.
CREATE TABLE IF NOT EXISTS {{table "schema_migrations"}}
(
    version UInt32,
    name String,
    applied_at DateTime('UTC')
)
ENGINE = {{engine "schema_migrations" "ReplacingMergeTree(applied_at)"}}
ORDER BY version;{{distributed "schema_migrations" "toUInt64(version)"}}
