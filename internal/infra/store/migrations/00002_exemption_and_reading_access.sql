-- +goose Up
ALTER TABLE citizens ADD COLUMN exempt_since timestamptz;

CREATE TABLE exemption_cases (
    id                  uuid PRIMARY KEY,
    citizen_id          uuid NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    municipality_id     text NOT NULL REFERENCES senders (id),   -- sends the decision letter
    grounds             text[] NOT NULL CHECK (cardinality(grounds) > 0),
    -- who appeared in person: the citizen, or a representative with a power of attorney (rule 10)
    representative_name text NOT NULL DEFAULT '',
    representative_cpr  text NOT NULL DEFAULT '',
    poa_filename        text NOT NULL DEFAULT '',
    poa_document        bytea,
    status              text NOT NULL,
    overdue             boolean NOT NULL DEFAULT false,
    reason              text NOT NULL DEFAULT '',
    caseworker          text NOT NULL DEFAULT '',
    service_deadline    timestamptz NOT NULL,
    decision_letter_id  uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exemption_cases_status ON exemption_cases (status, overdue);

-- Reminders raised to the caseworker queue when a case passes its service deadline.
CREATE TABLE caseworker_reminders (
    id        bigserial PRIMARY KEY,
    case_id   uuid NOT NULL REFERENCES exemption_cases (id) ON DELETE CASCADE,
    number    int NOT NULL,
    raised_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, number)
);

CREATE TABLE reading_access (
    id           uuid PRIMARY KEY,
    citizen_id   uuid NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    delegate_id  uuid NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    status       text NOT NULL CHECK (status IN ('requested', 'granted', 'declined', 'expired', 'revoked')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    respond_by   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (citizen_id <> delegate_id)
);
-- At most one live request or grant per citizen and delegate.
CREATE UNIQUE INDEX reading_access_live ON reading_access (citizen_id, delegate_id) WHERE status IN ('requested', 'granted');

-- +goose Down
DROP TABLE reading_access, caseworker_reminders, exemption_cases;
ALTER TABLE citizens DROP COLUMN exempt_since;
