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
ALTER TABLE {{table "sessions"}} ADD COLUMN batch_id UInt64;
ALTER TABLE {{table "sessions"}} ADD COLUMN spool_id UInt64;{{alterDistributed "sessions" "murmurHash3_64(visitor_id)"}}
