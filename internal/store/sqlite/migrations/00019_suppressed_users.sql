-- +goose Up
-- The suppression list (store.Erasure): the users erased, by the hex
-- SHA-256 of their user_id (the raw id is not kept anywhere once a user
-- is erased), with when, at whose request, and the rows deleted. Each
-- batch looks up its users here, and writes nothing of those listed.
CREATE TABLE suppressed_users (
    user_hash TEXT    PRIMARY KEY,
    erased_at INTEGER NOT NULL, -- microseconds
    erased_by TEXT    NOT NULL,
    events    INTEGER NOT NULL DEFAULT 0,
    messages  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX suppressed_users_erased_at ON suppressed_users (erased_at);

-- An erasure deletes the user's processing-log rows, which no index found
-- by user. Bucketed by id like the events' user index (migration 00003),
-- so that an insert lands at the right edge of the index whatever its
-- user, and the writer keeps its rate as the table grows; an erasure
-- probes the buckets, one index seek each. Building it reads the whole
-- table once, at the first start of this version.
CREATE INDEX messages_bucket_user_id ON messages ((id >> 14), user_id, id);

-- +goose Down
DROP INDEX messages_bucket_user_id;
DROP TABLE suppressed_users;
