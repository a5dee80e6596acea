-- +goose Up
-- A batch's one-round-trip write (postgres.Write) calls this first, in the
-- same implicit transaction as its inserts: it takes the lock an erasure
-- waits on (so none commits between this check and the batch's commit),
-- then fails the whole batch when one of its users is on the suppression
-- list, which is rare: the batch is then written again the slow way,
-- which writes nothing of those users. LOCK runs here, in a function,
-- because a statement of a pipeline is not in a transaction block.
-- +goose StatementBegin
CREATE FUNCTION pulse_refuse_suppressed(hashes TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE events IN ROW EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM suppressed_users WHERE user_hash = ANY(hashes)) THEN
        RAISE EXCEPTION 'pulse: a user of the batch is on the suppression list' USING ERRCODE = 'PS001';
    END IF;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION pulse_refuse_suppressed(TEXT[]);
