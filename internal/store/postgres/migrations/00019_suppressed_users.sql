-- +goose Up
-- The suppression list (store.Erasure): the users erased, by the hex
-- SHA-256 of their user_id (the raw id is not kept anywhere once a user
-- is erased), with when, at whose request, and the rows deleted. Each
-- batch looks up its users here, and writes nothing of those listed.
CREATE TABLE suppressed_users (
    user_hash text        PRIMARY KEY,
    erased_at timestamptz NOT NULL,
    erased_by text        NOT NULL,
    events    int8        NOT NULL DEFAULT 0,
    messages  int8        NOT NULL DEFAULT 0
);
CREATE INDEX suppressed_users_erased_at ON suppressed_users (erased_at);

-- An erasure deletes the user's processing-log rows, which no index found
-- by user: without one, each erasure would read the whole table. Keyed
-- like the events' (user_id, id). Building it reads the whole table
-- once, at the first start of this version.
CREATE INDEX messages_user_id_id ON messages (user_id, id);

-- +goose Down
DROP INDEX messages_user_id_id;
DROP TABLE suppressed_users;
