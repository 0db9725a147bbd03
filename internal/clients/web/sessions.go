package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// senderKeyStanding tells whether the API key a sender's user signed in with is still valid:
// the page session lasts no longer than the key that opened it. A sender's user signed in by
// the identity provider has no key to lose.
func (s *Site) senderKeyStanding(ctx context.Context, sess Session) (bool, error) {
	if sess.Role != RoleSender || sess.KeyID == "" {
		return true, nil
	}
	keys, err := s.d.PostOffice.KeysOf(ctx, sess.SenderID)
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
	standing, err := s.d.Sessions.Standing(r.Context(), sess.ID)
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
		if err := s.d.Sessions.End(r.Context(), sess.ID); err != nil {
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
