-- +goose Up
CREATE TABLE senders (
    id             text PRIMARY KEY,
    organisation   text NOT NULL,              -- shown on the letter, e.g. "Region Midtjylland"
    producing_unit text NOT NULL DEFAULT '',   -- the unit that wrote it, e.g. a hospital
    return_address text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE citizens (
    id                       uuid PRIMARY KEY,
    cpr                      text NOT NULL UNIQUE,   -- personal data: stays in this table
    name                     text NOT NULL,
    birth_date               date NOT NULL,
    address                  text NOT NULL DEFAULT '',
    enrolment                text NOT NULL CHECK (enrolment IN ('enrolled', 'auto_enrolled', 'exempt')),
    exempt_from_self_service boolean NOT NULL DEFAULT false,
    last_login_at            timestamptz,
    email                    text NOT NULL DEFAULT '',
    mobile                   text NOT NULL DEFAULT '',
    nemsms_opt_in            boolean NOT NULL DEFAULT false,
    -- the letter that carried the one-time paper notice "digital post is waiting" (rule 5)
    waiting_notice_letter_id uuid,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE letters (
    id               uuid PRIMARY KEY,
    sender_id        text NOT NULL REFERENCES senders (id),
    message_id       text NOT NULL,
    recipient_id     uuid REFERENCES citizens (id) ON DELETE SET NULL,
    subject          text NOT NULL,
    body             text NOT NULL DEFAULT '',
    physical_only    boolean NOT NULL DEFAULT false,
    digital_only     boolean NOT NULL DEFAULT false,
    deadline_seconds bigint NOT NULL CHECK (deadline_seconds > 0),
    status           text NOT NULL,
    channel          text NOT NULL DEFAULT '',
    failure_reason   text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sender_id, message_id)
);
CREATE INDEX letters_status_sender ON letters (status, sender_id);
CREATE INDEX letters_recipient ON letters (recipient_id);

CREATE TABLE letter_documents (
    letter_id    uuid NOT NULL REFERENCES letters (id) ON DELETE CASCADE,
    position     int NOT NULL,
    filename     text NOT NULL,
    content_type text NOT NULL,
    content      bytea NOT NULL,
    PRIMARY KEY (letter_id, position)
);

CREATE TABLE mailbox_entries (
    letter_id    uuid PRIMARY KEY REFERENCES letters (id) ON DELETE CASCADE,
    citizen_id   uuid NOT NULL REFERENCES citizens (id) ON DELETE CASCADE,
    delivered_at timestamptz NOT NULL DEFAULT now(),
    opened_at    timestamptz,
    opened_by    uuid,            -- the citizen, or a delegate with reading access
    withdrawn_at timestamptz
);
CREATE INDEX mailbox_entries_citizen ON mailbox_entries (citizen_id);

-- One row per letter + channel + purpose: the claim that makes a retried activity
-- unable to send a second SMS or e-mail.
CREATE TABLE notifications (
    letter_id   uuid NOT NULL REFERENCES letters (id) ON DELETE CASCADE,
    channel     text NOT NULL CHECK (channel IN ('sms', 'email')),
    purpose     text NOT NULL,
    state       text NOT NULL CHECK (state IN ('sending', 'sent', 'failed', 'unknown')),
    provider_id text NOT NULL DEFAULT '',
    error       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (letter_id, channel, purpose)
);

-- One row per letter + purpose: a retried print activity finds the job and does not spool twice.
CREATE TABLE print_jobs (
    letter_id  uuid NOT NULL REFERENCES letters (id) ON DELETE CASCADE,
    purpose    text NOT NULL,
    reason     text NOT NULL,
    job_id     text NOT NULL UNIQUE,
    pdf_path   text NOT NULL,
    pages      int NOT NULL,
    outcome    text NOT NULL CHECK (outcome IN ('spooled', 'posted', 'failed', 'returned')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (letter_id, purpose)
);

-- Notices recorded instead of sent when no Twilio/SendGrid credentials are configured.
CREATE TABLE dev_outbox (
    id         bigserial PRIMARY KEY,
    channel    text NOT NULL,
    recipient  text NOT NULL,
    subject    text NOT NULL DEFAULT '',
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE dev_outbox, print_jobs, notifications, mailbox_entries, letter_documents, letters, citizens, senders;
