-- +goose Up
-- The people who sign in to Pulse (docs/accounts.md), their browsers'
-- sessions and the API tokens of scripts. Secrets are never stored:
-- sessions and tokens by the SHA-256 of theirs, passwords as argon2id
-- hashes.
CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    email           TEXT        NOT NULL UNIQUE, -- lowercased
    role            TEXT        NOT NULL,
    password_hash   TEXT        NOT NULL DEFAULT '',
    oidc_subject    TEXT UNIQUE, -- "<issuer> <subject>", NULL when not linked
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    last_sign_in_at TIMESTAMPTZ
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY, -- hex SHA-256 of the cookie's secret
    account_id   TEXT        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    client_ip    TEXT        NOT NULL,
    user_agent   TEXT        NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT        NOT NULL,
    hash         TEXT        NOT NULL UNIQUE, -- hex SHA-256 of the secret
    role         TEXT        NOT NULL,
    account_id   TEXT, -- NULL when made by the CLI or the admin token
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
-- A name names one live token; a revoked token's name is free again.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_account ON api_tokens (account_id);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE accounts;
