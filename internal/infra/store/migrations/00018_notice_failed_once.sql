-- +goose Up
-- A notice fails once: an unknown notice an operator settles as not sent (unknown → failed) is
-- the same failure, already announced.
DROP TRIGGER notifications_failed ON notifications;
CREATE TRIGGER notifications_failed AFTER UPDATE OF state ON notifications
    FOR EACH ROW WHEN (NEW.state IN ('rejected', 'unknown', 'failed') AND OLD.state NOT IN ('rejected', 'unknown', 'failed'))
    EXECUTE FUNCTION notice_failed_event();

-- +goose Down
DROP TRIGGER notifications_failed ON notifications;
CREATE TRIGGER notifications_failed AFTER UPDATE OF state ON notifications
    FOR EACH ROW WHEN (NEW.state IN ('rejected', 'unknown', 'failed') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION notice_failed_event();
