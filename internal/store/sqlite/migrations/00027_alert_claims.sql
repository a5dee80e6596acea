-- +goose Up
-- The claim that holds a pending notification (ClaimAlertNotifications
-- sets it with claimed_until): an attempt's outcome is recorded only while
-- the notification is still pending and still under the claim it was sent
-- under, so a process whose claim lapsed and was taken over cannot
-- overwrite the newer attempt's outcome (a late "retry" over "delivered").
ALTER TABLE alert_events ADD COLUMN claim TEXT;

-- +goose Down
ALTER TABLE alert_events DROP COLUMN claim;
