-- +goose Up
-- The pages' signed-in sessions (issue 23). The sealed session cookie names its row; signing
-- out ends the row, so a copy of the cookie dies with it in every API process at once (an
-- ended-sessions list in one process's memory would end it in that process only). A cookie
-- whose row is missing, ended or expired is no session. Who signed in stays in the cookie (so
-- the row does not stop a forger who holds the session key; SESSION_KEY must stay secret); the
-- row holds no personal data.
CREATE TABLE page_sessions (
    id uuid PRIMARY KEY,
    role text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
-- Sign-ins clear out expired rows a few at a time.
CREATE INDEX page_sessions_by_expiry ON page_sessions (expires_at);

-- +goose Down
DROP TABLE page_sessions;
