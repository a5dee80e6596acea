-- +goose Up
-- The user and session indexes lead with the id's bucket (id >> 14, 16,384
-- ids a bucket). Keyed by (user_id, id), each insert landed at the tail of
-- one of hundreds of users' or sessions' ranges spread across the whole
-- index: a different leaf page for nearly every row, rewritten in the WAL
-- by every transaction, and more of them as the table grew, so the writer
-- slowed as the database grew (31k to 25k records/s over 1.2 M rows in
-- batches of 3,000). Inside the newest bucket all the ranges sit together
-- at the right edge of the index, so a transaction touches a few dozen
-- leaves at any table size (about 60k records/s, flat). The explorer walks
-- the buckets newest first (explorer.go); it is the only reader of these
-- indexes. Rebuilding them reads the whole table once, at the first start
-- of this version.
DROP INDEX events_user_id_id;
DROP INDEX events_session_id_id;
CREATE INDEX events_bucket_user_id ON events ((id >> 14), user_id, id);
CREATE INDEX events_bucket_session_id ON events ((id >> 14), session_id, id);

-- +goose Down
DROP INDEX events_bucket_session_id;
DROP INDEX events_bucket_user_id;
CREATE INDEX events_user_id_id ON events (user_id, id);
CREATE INDEX events_session_id_id ON events (session_id, id);
