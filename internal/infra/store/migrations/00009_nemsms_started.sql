-- +goose Up
-- A NemSMS message follows the recovery pattern of letters: stored, started, and the start
-- confirmed; the sweep starts one left unconfirmed (Temporal was down, the sender's process died).
ALTER TABLE nemsms_messages ADD COLUMN started_at timestamptz;
UPDATE nemsms_messages SET started_at = created_at WHERE status <> 'queued';
CREATE INDEX nemsms_messages_unstarted ON nemsms_messages (created_at) WHERE started_at IS NULL;

-- +goose Down
DROP INDEX nemsms_messages_unstarted;
ALTER TABLE nemsms_messages DROP COLUMN started_at;
