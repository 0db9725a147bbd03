-- +goose Up
-- Two-way post: a citizen answers a letter, or writes first to a sender's contact point.

-- A sender's contact points: the units a reply goes to, and (for_citizens) the ones a citizen
-- may write to first. A removed one stays, so the messages sent to it keep their name.
CREATE TABLE contact_points (
    sender_id    text NOT NULL REFERENCES senders (id),
    id           text NOT NULL,  -- the sender's own short name for it: "roentgen"
    name         text NOT NULL,  -- as citizens see it: "Aarhus Universitetshospital, Røntgen"
    for_citizens boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    removed_at   timestamptz,
    PRIMARY KEY (sender_id, id)
);

-- A sender's defaults for letters that do not say whether they may be answered.
ALTER TABLE senders
    ADD COLUMN replies_by_default    boolean NOT NULL DEFAULT false,
    ADD COLUMN reply_contact_point   text NOT NULL DEFAULT '',
    ADD COLUMN reply_within_seconds  bigint NOT NULL DEFAULT 0 CHECK (reply_within_seconds >= 0);

-- A letter's reply options, and the citizen's message it answers.
ALTER TABLE letters
    ADD COLUMN replies_allowed     boolean NOT NULL DEFAULT false,
    ADD COLUMN reply_by            timestamptz,
    ADD COLUMN reply_contact_point text NOT NULL DEFAULT '',
    ADD COLUMN in_reply_to         uuid;

-- What citizens send: a reply to a letter (letter_id) or a message written first. The form's
-- key makes a second click of the same form the same message.
CREATE TABLE citizen_messages (
    id            uuid PRIMARY KEY,
    sender_id     text NOT NULL REFERENCES senders (id),
    citizen_id    uuid REFERENCES citizens (id) ON DELETE SET NULL,
    letter_id     uuid REFERENCES letters (id) ON DELETE SET NULL,
    contact_point text NOT NULL DEFAULT '',
    subject       text NOT NULL,
    body          text NOT NULL DEFAULT '',
    form_key      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    handled_at    timestamptz
);
CREATE UNIQUE INDEX citizen_messages_form ON citizen_messages (citizen_id, form_key);
CREATE INDEX citizen_messages_sender ON citizen_messages (sender_id, created_at DESC, id DESC);
CREATE INDEX citizen_messages_citizen ON citizen_messages (citizen_id, created_at DESC);
CREATE INDEX citizen_messages_letter ON citizen_messages (letter_id) WHERE letter_id IS NOT NULL;
CREATE INDEX letters_in_reply_to ON letters (in_reply_to) WHERE in_reply_to IS NOT NULL;

CREATE TABLE citizen_message_attachments (
    message_id   uuid NOT NULL REFERENCES citizen_messages (id) ON DELETE CASCADE,
    position     int NOT NULL,
    filename     text NOT NULL,
    content_type text NOT NULL,
    content      bytea NOT NULL,
    PRIMARY KEY (message_id, position)
);

-- The feed carries messages as well as letters' changes: letter.replied (a letter and the
-- reply) and message.received (no letter). The message's row and its event are written in one
-- transaction, so a stored message is always announced, once.
ALTER TABLE letter_events
    ADD COLUMN topic              text NOT NULL DEFAULT 'letter',
    ADD COLUMN citizen_message_id uuid,
    ALTER COLUMN letter_id DROP NOT NULL;
ALTER TABLE webhook_failures ALTER COLUMN letter_id DROP NOT NULL;

-- +goose Down
DELETE FROM webhook_failures WHERE letter_id IS NULL;
ALTER TABLE webhook_failures ALTER COLUMN letter_id SET NOT NULL;
DELETE FROM letter_events WHERE citizen_message_id IS NOT NULL;
ALTER TABLE letter_events DROP COLUMN topic, DROP COLUMN citizen_message_id, ALTER COLUMN letter_id SET NOT NULL;
DROP TABLE citizen_message_attachments, citizen_messages;
ALTER TABLE letters DROP COLUMN replies_allowed, DROP COLUMN reply_by, DROP COLUMN reply_contact_point, DROP COLUMN in_reply_to;
ALTER TABLE senders DROP COLUMN replies_by_default, DROP COLUMN reply_contact_point, DROP COLUMN reply_within_seconds;
DROP TABLE contact_points;
