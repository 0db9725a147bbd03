-- +goose Up
-- A letter's urgency within its sender's work (urgent before bulk). It is stored so that every
-- start of the letter's workflow (the first, the recovery sweep's, a withdrawal's) gives it the
-- same place in Temporal's queues.
ALTER TABLE letters ADD COLUMN urgency text NOT NULL DEFAULT 'urgent' CHECK (urgency IN ('urgent', 'bulk'));
-- A bulk run starts its letters paced (BULK_STARTS_PER_SECOND): each letter's start is due at
-- start_after, and the recovery sweep takes it over only once that time and its grace have
-- passed. Without it the sweep started the rest of any run longer than its grace, unpaced.
ALTER TABLE letters ADD COLUMN start_after timestamptz;

-- +goose Down
ALTER TABLE letters DROP COLUMN start_after;
ALTER TABLE letters DROP COLUMN urgency;
