-- +goose Up
-- CPR numbers live in the registry only: a case names its representative by a reference to
-- the registry, not by their CPR number. A citizen has at most one open case.
ALTER TABLE exemption_cases ADD COLUMN representative_id uuid REFERENCES citizens (id) ON DELETE SET NULL;
UPDATE exemption_cases e SET representative_id = c.id FROM citizens c
    WHERE e.representative_cpr <> '' AND c.cpr = e.representative_cpr;
ALTER TABLE exemption_cases DROP COLUMN representative_cpr;
-- (Before this rule two open cases were possible; should a database hold such a pair, decide
-- or reject one and run the migration again.)
CREATE UNIQUE INDEX exemption_cases_one_open ON exemption_cases (citizen_id)
    WHERE status IN ('awaiting_proxy_verification', 'awaiting_decision');

-- +goose Down
DROP INDEX exemption_cases_one_open;
ALTER TABLE exemption_cases ADD COLUMN representative_cpr text NOT NULL DEFAULT '';
UPDATE exemption_cases e SET representative_cpr = c.cpr FROM citizens c WHERE c.id = e.representative_id;
ALTER TABLE exemption_cases DROP COLUMN representative_id;
