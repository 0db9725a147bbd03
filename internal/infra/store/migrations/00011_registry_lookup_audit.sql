-- +goose Up
-- Who learnt what about whom from the population registry through the senders' API (issue 23,
-- M2): a look-up, a batch preview (each of its recipients), a letter or batch refused for who
-- its recipient is. The
-- CPR number is kept as a keyed hash (HMAC-SHA256, LOOKUP_AUDIT_KEY): whoever holds the key can
-- answer "who looked up this citizen, and when", while the table itself is no list of CPR numbers.
CREATE TABLE registry_lookups (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender_id text NOT NULL,
    looked_up_at timestamptz NOT NULL DEFAULT now(),
    cpr_hash bytea NOT NULL,
    kind text NOT NULL CHECK (kind IN ('lookup', 'preview', 'refusal')),
    found boolean -- NULL where the answer did not turn on it (a preview)
);
CREATE INDEX registry_lookups_by_citizen ON registry_lookups (cpr_hash, looked_up_at);
CREATE INDEX registry_lookups_by_sender ON registry_lookups (sender_id, looked_up_at);

-- +goose Down
DROP TABLE registry_lookups;
