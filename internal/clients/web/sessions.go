package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// sessionRows is the pages' session table (migration 00012_page_sessions): one row per
// sign-in, named by the id in the sealed cookie. The cookie says who; the row says whether the
// session still stands. Signing out ends the row, so a copy of the cookie ends with it in every
// API process (a list of ended sessions in one process's memory would end it in that one only).
type sessionRows struct{ db *pgxpool.Pool }

// errSessionTaken: a sign-in tried to open a session that was opened before. An OpenID
// Connect sign-in names its session when it starts, so its callback, replayed, is refused here
// even if the identity provider redeems the code twice.
var errSessionTaken = errors.New("the sign-in was used before")

// open records a new session. It also clears away a few expired rows: no sweeper to run, and
// SKIP LOCKED keeps concurrent sign-ins from waiting on each other's clearing.
func (t sessionRows) open(ctx context.Context, sess Session) error {
	tag, err := t.db.Exec(ctx, `
		WITH expired AS (
			DELETE FROM page_sessions WHERE id IN (
				SELECT id FROM page_sessions WHERE expires_at < now() ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)
		)
		INSERT INTO page_sessions (id, role, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		sess.ID, sess.Role, sess.Expires)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errSessionTaken
	}
	return nil
}

// standing tells whether a session is still signed in: opened, not ended, not expired.
func (t sessionRows) standing(ctx context.Context, id uuid.UUID) (bool, error) {
	var ok bool
	err := t.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM page_sessions
		WHERE id = $1 AND ended_at IS NULL AND expires_at > now())`, id).Scan(&ok)
	return ok, err
}

// end signs a session out; ending an ended one is harmless.
func (t sessionRows) end(ctx context.Context, id uuid.UUID) error {
	_, err := t.db.Exec(ctx, `UPDATE page_sessions SET ended_at = coalesce(ended_at, now()) WHERE id = $1`, id)
	return err
}

// senderKeyStanding tells whether the API key a sender's user signed in with is still valid:
// the page session lasts no longer than the key that opened it. A sender's user signed in by
// the identity provider has no key to lose.
func (s *Site) senderKeyStanding(ctx context.Context, sess Session) (bool, error) {
	if sess.Role != RoleSender || sess.KeyID == "" {
		return true, nil
	}
	keys, err := s.e.APIKeys.List(ctx, sess.SenderID)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.ID == sess.KeyID {
			return k.RevokedAt == nil, nil
		}
	}
	return false, nil
}

// apiKeyID is the id part of an API key ("dpk_<id>_<secret>"), which names the key in the
// key table; "" when the key has no such part.
func apiKeyID(key string) string {
	rest, ok := strings.CutPrefix(key, "dpk_")
	id, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 {
		return ""
	}
	return id
}

// signedInKey carries the session need found, so the page it serves does not ask again.
type signedInKey struct{}

// session is who is signed in: a sealed cookie, not expired, whose session still stands (not
// signed out, its sender's key not revoked). A check that fails for want of the database
// counts as signed out.
func (s *Site) session(r *http.Request) (Session, bool) {
	if sess, ok := r.Context().Value(signedInKey{}).(Session); ok {
		return sess, true
	}
	sess, ok := s.sealedSession(r)
	if !ok || sess.ID == uuid.Nil {
		return Session{}, false
	}
	standing, err := s.sessions.standing(r.Context(), sess.ID)
	if err == nil && standing {
		standing, err = s.senderKeyStanding(r.Context(), sess)
	}
	if err != nil {
		s.log.Warn("session check failed", "err", err)
	}
	if err != nil || !standing {
		return Session{}, false
	}
	return sess, true
}

// sealedSession is the session the cookie holds, if it is sealed by us and not expired;
// whether it still stands is session's question.
func (s *Site) sealedSession(r *http.Request) (Session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return Session{}, false
	}
	var sess Session
	if err := s.cookies.Decode(sessionCookie, c.Value, &sess); err != nil || time.Now().After(sess.Expires) {
		return Session{}, false
	}
	return sess, true
}

// signOut ends the session where it is recorded, then in the browser.
func (s *Site) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.cookie(r, sessionCookie, "", -time.Second))
	if sess, ok := s.sealedSession(r); ok && sess.ID != uuid.Nil {
		if err := s.sessions.end(r.Context(), sess.ID); err != nil {
			// Say so: the browser forgot the cookie, but a copy of it would still work.
			s.serverError(w, r, err)
			return
		}
		s.log.Info("signed out", "role", sess.Role, "user", sess.user())
	}
	http.Redirect(w, r, "/log-ind", http.StatusSeeOther)
}

// user names the signed-in person for the log: a citizen's registry id, a caseworker's
// identity, a sender's id; never a CPR number, a name or contact details.
func (sess Session) user() string {
	switch sess.Role {
	case RoleCitizen:
		return sess.CitizenID.String()
	case RoleCaseworker:
		return sess.Caseworker
	case RoleSender:
		return sess.SenderID
	}
	return ""
}

// statusWriter remembers the status a page answered, for the log of page actions.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
