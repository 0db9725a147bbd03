-- +goose Up
-- A letter may be delivered at a later time, and goes on paper in a postal category chosen
-- per letter (registered letters are never sent as ordinary post).
ALTER TABLE letters
    ADD COLUMN deliver_at      timestamptz,
    ADD COLUMN postal_category text NOT NULL DEFAULT 'economy'
        CHECK (postal_category IN ('priority', 'economy', 'registered', 'registered_proof'));
ALTER TABLE print_jobs ADD COLUMN postal_category text NOT NULL DEFAULT 'economy';

-- The print house's answers: one row per receipt as it arrived, duplicates and receipts for
-- unknown jobs included, so nothing it said is lost. A receipt moves the job (and the letter)
-- only forward: posted, then delivered (with proof) or returned; failed before posting.
ALTER TABLE print_jobs DROP CONSTRAINT print_jobs_outcome_check,
    ADD CONSTRAINT print_jobs_outcome_check CHECK (outcome IN ('spooled', 'posted', 'failed', 'returned', 'delivered'));
CREATE TABLE print_receipts (
    id          bigserial PRIMARY KEY,
    job_id      text NOT NULL,
    outcome     text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    happened_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    -- what the receipt did: applied, duplicate, out_of_order, unknown_job
    effect      text NOT NULL,
    source      text NOT NULL -- the file or the HTTP endpoint it came by
);
CREATE INDEX print_receipts_job ON print_receipts (job_id, received_at);

-- +goose Down
DROP TABLE print_receipts;
UPDATE print_jobs SET outcome = 'posted' WHERE outcome = 'delivered';
ALTER TABLE print_jobs DROP CONSTRAINT print_jobs_outcome_check,
    ADD CONSTRAINT print_jobs_outcome_check CHECK (outcome IN ('spooled', 'posted', 'failed', 'returned'));
ALTER TABLE print_jobs DROP COLUMN postal_category;
ALTER TABLE letters DROP COLUMN postal_category, DROP COLUMN deliver_at;
