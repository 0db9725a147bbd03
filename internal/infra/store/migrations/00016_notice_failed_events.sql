-- +goose Up
-- A notice the provider refused, whose fate is unknown, or given up after its retries is an event
-- of its letter (letter.notice_failed), written by the statement that records it, as a status
-- change is. The reason is a code (state:purpose), never the provider's text, which may hold
-- the number or address.

-- +goose StatementBegin
CREATE FUNCTION notice_failed_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO letter_events (sender_id, letter_id, kind, channel, reason)
    SELECT l.sender_id, NEW.letter_id, 'notice_failed', NEW.channel, NEW.state || ':' || NEW.purpose
    FROM letters l WHERE l.id = NEW.letter_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER notifications_failed AFTER UPDATE OF state ON notifications
    FOR EACH ROW WHEN (NEW.state IN ('rejected', 'unknown', 'failed') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION notice_failed_event();

-- +goose Down
DROP TRIGGER notifications_failed ON notifications;
DROP FUNCTION notice_failed_event();
DELETE FROM letter_events WHERE kind = 'notice_failed';
