-- +goose Up
-- The audit log (docs/accounts.md#audit-log): every sign-in, refused or
-- not, and every change made through the API or the command line. Only
-- appended: no statement of Pulse updates a row, and the trigger refuses
-- any that tries; retention deletes the old ones.
CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    actor      TEXT        NOT NULL,
    account_id TEXT        NOT NULL DEFAULT '',
    client_ip  TEXT        NOT NULL DEFAULT '',
    action     TEXT        NOT NULL,
    target     TEXT        NOT NULL DEFAULT '',
    outcome    TEXT        NOT NULL,
    status     INTEGER     NOT NULL DEFAULT 0,
    detail     TEXT        NOT NULL DEFAULT '',
    request_id TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
