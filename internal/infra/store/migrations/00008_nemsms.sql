-- +goose Up
-- NemSMS (rule 9): an opt-in service of its own. A subscription records the terms the
-- citizen accepted and when, and the Danish mobile number the messages go to.
CREATE TABLE nemsms_subscriptions (
    citizen_id    uuid PRIMARY KEY REFERENCES citizens (id) ON DELETE CASCADE,
    mobile        text NOT NULL CHECK (mobile LIKE '+45%'),
    terms_version text NOT NULL,
    accepted_at   timestamptz NOT NULL,
    cancelled_at  timestamptz
);

-- A sender's NemSMS message: at most 160 characters, to a subscribed citizen.
CREATE TABLE nemsms_messages (
    id          uuid PRIMARY KEY,
    sender_id   text NOT NULL REFERENCES senders (id),
    message_id  text NOT NULL,
    citizen_id  uuid REFERENCES citizens (id) ON DELETE SET NULL,
    body        text NOT NULL CHECK (char_length(body) <= 160),
    status      text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
    detail      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sender_id, message_id)
);

-- NemSMS messages go through the same once-only provider claims as notices: a claim is now
-- for a letter or a NemSMS message, so it no longer refers to letters alone.
ALTER TABLE notifications DROP CONSTRAINT notifications_letter_id_fkey;

-- A letter may carry an appointment; its NemSMS reminder goes out before it.
ALTER TABLE letters ADD COLUMN appointment_at timestamptz;

-- +goose Down
ALTER TABLE letters DROP COLUMN appointment_at;
DELETE FROM notifications n WHERE NOT EXISTS (SELECT 1 FROM letters l WHERE l.id = n.letter_id);
ALTER TABLE notifications ADD CONSTRAINT notifications_letter_id_fkey FOREIGN KEY (letter_id) REFERENCES letters (id) ON DELETE CASCADE;
DROP TABLE nemsms_messages, nemsms_subscriptions;
