-- +goose Up
-- A citizen need not name a ground to apply for exemption: the caseworker records it with the
-- decision (an approval names one, checked by the citizen service's desk).
ALTER TABLE exemption_cases DROP CONSTRAINT exemption_cases_grounds_check;

-- +goose Down
UPDATE exemption_cases SET grounds = ARRAY['disability'] WHERE cardinality(grounds) = 0;
ALTER TABLE exemption_cases ADD CONSTRAINT exemption_cases_grounds_check CHECK (cardinality(grounds) > 0);
