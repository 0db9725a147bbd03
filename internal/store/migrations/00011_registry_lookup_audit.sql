-- +goose Up
-- Who looked up whom in the population registry through the senders' API (issue 23, M2). The
-- CPR number is kept as a keyed hash (HMAC-SHA256, LOOKUP_AUDIT_KEY): whoever holds the key can
-- answer "who looked up this citizen, and when", while the table itself is no list of CPR numbers.
CREATE TABLE registry_lookups (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender_id text NOT NULL,
    looked_up_at timestamptz NOT NULL DEFAULT now(),
    cpr_hash bytea NOT NULL,
    found boolean NOT NULL
);
CREATE INDEX registry_lookups_by_citizen ON registry_lookups (cpr_hash, looked_up_at);
CREATE INDEX registry_lookups_by_sender ON registry_lookups (sender_id, looked_up_at);

-- +goose Down
DROP TABLE registry_lookups;
