-- +goose Up
-- Each provider's urgent lane: a share of its rate that only urgent notices take, paced like
-- the provider's own row, so a bulk run's booked slots never hold back a single letter's notice.
ALTER TABLE provider_pace DROP CONSTRAINT provider_pace_channel_check;
ALTER TABLE provider_pace ADD CONSTRAINT provider_pace_channel_check
    CHECK (channel IN ('sms', 'email', 'sms/urgent', 'email/urgent'));
INSERT INTO provider_pace (channel) VALUES ('sms/urgent'), ('email/urgent');

-- +goose Down
DELETE FROM provider_pace WHERE channel IN ('sms/urgent', 'email/urgent');
ALTER TABLE provider_pace DROP CONSTRAINT provider_pace_channel_check;
ALTER TABLE provider_pace ADD CONSTRAINT provider_pace_channel_check CHECK (channel IN ('sms', 'email'));
