-- +goose Up
-- Life events from the CPR register: a citizen who died or emigrated stays in the registry
-- (their mailbox is kept for the retention period), and letters follow the event.
ALTER TABLE citizens
    ADD COLUMN died_on         date,
    ADD COLUMN emigrated_on    date,
    ADD COLUMN foreign_address text NOT NULL DEFAULT '';
-- A mailbox is never cascaded away with its owner: deleting a citizen who still has post
-- fails, and only a purge after the retention period removes both.
ALTER TABLE mailbox_entries DROP CONSTRAINT mailbox_entries_citizen_id_fkey,
    ADD CONSTRAINT mailbox_entries_citizen_id_fkey FOREIGN KEY (citizen_id) REFERENCES citizens (id) ON DELETE RESTRICT;

-- Reading access ends as 'suspended' when the citizen (or the delegate) becomes exempt:
-- re-enrolment does not bring it back, a new request and consent are needed. A caseworker
-- can record access the citizen gave in person; granted_by names them.
ALTER TABLE reading_access DROP CONSTRAINT reading_access_status_check,
    ADD CONSTRAINT reading_access_status_check CHECK (status IN ('requested', 'granted', 'declined', 'expired', 'revoked', 'suspended')),
    ADD COLUMN granted_by text NOT NULL DEFAULT '';

-- +goose Down
UPDATE reading_access SET status = 'revoked' WHERE status = 'suspended';
ALTER TABLE reading_access DROP COLUMN granted_by, DROP CONSTRAINT reading_access_status_check,
    ADD CONSTRAINT reading_access_status_check CHECK (status IN ('requested', 'granted', 'declined', 'expired', 'revoked'));
ALTER TABLE mailbox_entries DROP CONSTRAINT mailbox_entries_citizen_id_fkey,
    ADD CONSTRAINT mailbox_entries_citizen_id_fkey FOREIGN KEY (citizen_id) REFERENCES citizens (id) ON DELETE CASCADE;
ALTER TABLE citizens DROP COLUMN died_on, DROP COLUMN emigrated_on, DROP COLUMN foreign_address;
