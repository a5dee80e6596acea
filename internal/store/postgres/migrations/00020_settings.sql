-- +goose Up
-- Server-wide settings changed in the app (the personal fields) and the
-- secrets the processes of a deployment share (the masking key).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
