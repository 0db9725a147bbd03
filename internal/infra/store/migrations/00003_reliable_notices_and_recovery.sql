-- +goose Up
-- Notices move from "at most once, a crash loses them" to "exactly once or listed for an
-- operator". A notice row now walks claimed → calling → sent | retrying | rejected, and a
-- row found still "calling" by a later attempt is "unknown": the process died mid-call.
ALTER TABLE notifications DROP CONSTRAINT notifications_state_check;
UPDATE notifications SET state = 'unknown' WHERE state = 'sending';
ALTER TABLE notifications ADD CONSTRAINT notifications_state_check
    CHECK (state IN ('claimed', 'calling', 'sent', 'retrying', 'rejected', 'unknown', 'failed'));
ALTER TABLE notifications ADD COLUMN attempts int NOT NULL DEFAULT 0;
-- who settled an unknown notice, and how (operators: starter notices resolve)
ALTER TABLE notifications ADD COLUMN resolution text NOT NULL DEFAULT '';
CREATE INDEX notifications_open ON notifications (updated_at) WHERE state IN ('unknown', 'calling', 'retrying', 'claimed');

-- One row per provider: the next moment a call may go out. Every worker reserves its
-- slot here, so a provider's limit holds across all workers and restarts, with no burst.
CREATE TABLE provider_pace (
    channel text PRIMARY KEY CHECK (channel IN ('sms', 'email')),
    next_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO provider_pace (channel) VALUES ('sms'), ('email');

-- Recovery: a row is stored before its workflow starts; started_at says the start is
-- confirmed. The recovery sweep starts whatever stays unconfirmed.
ALTER TABLE letters ADD COLUMN started_at timestamptz;
UPDATE letters SET started_at = updated_at WHERE status <> 'received';
CREATE INDEX letters_unstarted ON letters (created_at) WHERE started_at IS NULL;
ALTER TABLE exemption_cases ADD COLUMN started_at timestamptz;
UPDATE exemption_cases SET started_at = created_at;
CREATE INDEX exemption_cases_unstarted ON exemption_cases (created_at) WHERE started_at IS NULL;
ALTER TABLE reading_access ADD COLUMN started_at timestamptz;
UPDATE reading_access SET started_at = requested_at;
CREATE INDEX reading_access_unstarted ON reading_access (requested_at) WHERE started_at IS NULL;

-- +goose Down
DROP INDEX reading_access_unstarted, exemption_cases_unstarted, letters_unstarted, notifications_open;
ALTER TABLE reading_access DROP COLUMN started_at;
ALTER TABLE exemption_cases DROP COLUMN started_at;
ALTER TABLE letters DROP COLUMN started_at;
DROP TABLE provider_pace;
ALTER TABLE notifications DROP COLUMN resolution, DROP COLUMN attempts;
ALTER TABLE notifications DROP CONSTRAINT notifications_state_check;
UPDATE notifications SET state = 'failed' WHERE state NOT IN ('sent', 'failed', 'unknown');
ALTER TABLE notifications ADD CONSTRAINT notifications_state_check CHECK (state IN ('sending', 'sent', 'failed', 'unknown'));
