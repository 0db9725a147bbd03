-- +goose Up
-- The senders' HTTP API: per-sender keys, batches, a content fingerprint per letter (the same
-- message id with other content is a conflict), the event feed and webhooks.

-- A key is "dpk_<id>_<secret>"; only a SHA-256 of the whole key is kept. Keys are long and
-- random, so a fast hash is enough: nobody guesses one by trying.
CREATE TABLE sender_api_keys (
    id           text PRIMARY KEY,
    sender_id    text NOT NULL REFERENCES senders (id),
    key_hash     bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX sender_api_keys_sender ON sender_api_keys (sender_id);

-- A batch is one file a sender handed in. The same file again is the same batch.
CREATE TABLE batches (
    id         uuid PRIMARY KEY,
    sender_id  text NOT NULL REFERENCES senders (id),
    file_hash  bytea NOT NULL,
    letters    int NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sender_id, file_hash)
);

ALTER TABLE letters ADD COLUMN content_hash bytea;
ALTER TABLE letters ADD COLUMN batch_id uuid REFERENCES batches (id);
CREATE INDEX letters_batch ON letters (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX letters_sender_created ON letters (sender_id, created_at DESC, id DESC);

-- Every change of a letter's status is an event, written by the same statement that makes the
-- change, so none is lost and none is written twice. The feed is ordered by (xid, seq): a
-- reader is only shown events of transactions older than every one still running
-- (pg_snapshot_xmin), so an event can never appear behind a cursor already handed out.
CREATE TABLE letter_events (
    xid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq       bigserial,
    sender_id text NOT NULL,
    letter_id uuid NOT NULL,
    kind      text NOT NULL,
    channel   text NOT NULL DEFAULT '',
    reason    text NOT NULL DEFAULT '',
    at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (xid, seq)
);
CREATE INDEX letter_events_sender ON letter_events (sender_id, xid, seq);
CREATE INDEX letter_events_at ON letter_events (at);

-- +goose StatementBegin
CREATE FUNCTION letter_status_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO letter_events (sender_id, letter_id, kind, channel, reason)
    VALUES (NEW.sender_id, NEW.id, NEW.status, NEW.channel, NEW.failure_reason);
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER letters_status_inserted AFTER INSERT ON letters
    FOR EACH ROW EXECUTE FUNCTION letter_status_event();
CREATE TRIGGER letters_status_changed AFTER UPDATE OF status ON letters
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION letter_status_event();

-- One webhook per sender. The cursor is the last event delivered; failing_since says since
-- when the receiver has not taken the event after the cursor.
CREATE TABLE webhooks (
    sender_id       text PRIMARY KEY REFERENCES senders (id),
    url             text NOT NULL,
    secret          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    cursor_xid      xid8,
    cursor_seq      bigint,
    delivered       bigint NOT NULL DEFAULT 0,
    attempts        int NOT NULL DEFAULT 0, -- tries of the event after the cursor
    failing_since   timestamptz,
    last_attempt_at timestamptz,
    last_error      text NOT NULL DEFAULT ''
);

-- Events a receiver did not take for the whole retry window: given up, kept for the sender.
CREATE TABLE webhook_failures (
    sender_id text NOT NULL,
    event_id  text NOT NULL,
    letter_id uuid NOT NULL,
    kind      text NOT NULL,
    attempts  int NOT NULL,
    error     text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sender_id, event_id)
);

-- +goose Down
DROP TABLE webhook_failures, webhooks;
DROP TRIGGER letters_status_changed ON letters;
DROP TRIGGER letters_status_inserted ON letters;
DROP FUNCTION letter_status_event();
DROP TABLE letter_events;
DROP INDEX letters_sender_created, letters_batch;
ALTER TABLE letters DROP COLUMN batch_id, DROP COLUMN content_hash;
DROP TABLE batches, sender_api_keys;
