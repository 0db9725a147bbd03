-- +goose Up
-- A letter's urgency within its sender's work (urgent before bulk). It is stored so that every
-- start of the letter's workflow (the first, the recovery sweep's, a withdrawal's) gives it the
-- same place in Temporal's queues.
ALTER TABLE letters ADD COLUMN urgency text NOT NULL DEFAULT 'urgent' CHECK (urgency IN ('urgent', 'bulk'));

-- +goose Down
ALTER TABLE letters DROP COLUMN urgency;
