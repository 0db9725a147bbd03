// Package web is the pages: the citizen's mailbox, the caseworker's desk, the sender's
// dashboard and the statistics, server-rendered in Danish and served by the same HTTP server
// as the senders' API. Every rule is the engine's (the post office, the citizen service's
// desk, the registry): a page translates a form to a call and the answer back to HTML, as the
// API does for JSON.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/securecookie"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/domain/statistics"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Roles a session can have.
const (
	RoleCitizen    = "citizen"
	RoleCaseworker = "caseworker"
	RoleSender     = "sender"
)

// Session is who is signed in. It travels in a cookie, sealed (encrypted and authenticated)
// with the session key, and holds registry ids, never a CPR number. ID names its row in
// page_sessions, which says whether it still stands (see session).
type Session struct {
	ID        uuid.UUID
	Role      string
	CitizenID uuid.UUID // RoleCitizen
	// Caseworker is who a caseworker is, as a case records who acted: the identity provider's
	// issuer and subject, "<iss>#<sub>" (an issuer has no fragment, so the '#' is unambiguous).
	// A display name is no identity: two caseworkers may share one, and a name can change.
	// The development sign-in uses the typed name.
	Caseworker string
	SenderID   string // RoleSender
	KeyID      string // RoleSender signed in with an API key: the key, whose revocation ends the session
	Name       string // shown in the header
	Expires    time.Time
}

// SessionLength is how long a sign-in lasts.
const SessionLength = 8 * time.Hour

const sessionCookie = "dp_session"

// Options configure the pages.
type Options struct {
	// Dev offers the development sign-in page (pick a seeded citizen or caseworker). Never in
	// production: there only the identity provider signs people in.
	Dev bool
	// SessionKey seals the session cookie: 64 bytes (32 to authenticate, 32 to encrypt).
	// Empty: a random key, so sessions end when the process does and are not shared
	// between processes.
	SessionKey []byte
	// OIDC signs citizens, caseworkers and senders in through an OpenID Connect provider;
	// nil when none is configured.
	OIDC *OIDC
}

// Site serves the pages.
type Site struct {
	d       Desks
	log     *slog.Logger
	public  *statistics.PublicCache
	opts    Options
	cookies *securecookie.SecureCookie
	pages   map[string]*template.Template
	mux     *http.ServeMux
	handler http.Handler
}

// New builds the pages in front of the desks.
func New(d Desks, log *slog.Logger, opts Options) (*Site, error) {
	key := opts.SessionKey
	if len(key) == 0 {
		key = make([]byte, 64)
		_, _ = rand.Read(key)
	}
	if len(key) != 64 {
		return nil, fmt.Errorf("SESSION_KEY: must be 64 bytes (base64), got %d", len(key))
	}
	s := &Site{d: d, log: log, opts: opts, mux: http.NewServeMux(),
		public:  statistics.NewPublicCache(d.PostOffice, StatisticsTTL),
		cookies: securecookie.New(key[:32], key[32:]).MaxAge(int(SessionLength.Seconds()))}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.routes()
	// Forms are protected against cross-site requests: a POST from another origin is refused.
	s.handler = boundedForms(http.NewCrossOriginProtection().Handler(s.mux))
	return s, nil
}

// ServeHTTP serves a page.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	// Pages show letters, names and CPR numbers: no browser or proxy keeps a copy (a shared
	// computer's back button, a corporate cache). The static files are the same for everyone.
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
	}
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	s.handler.ServeHTTP(w, r)
}

// MaxFormBytes bounds a page's form: text fields only, kilobytes at most.
const MaxFormBytes = 64 << 10

// MaxCitizenPostBytes bounds a citizen's reply or message: its text and up to
// postoffice.MaxAttachments PDFs of at most 10 MB each.
const MaxCitizenPostBytes = postoffice.MaxAttachments*letters.MaxDocumentBytes + 1<<20

// uploadLimit tells whether a route takes a file (multipart), and how large a body; every other
// form is a plain urlencoded one of at most MaxFormBytes.
func uploadLimit(path string) (int64, bool) {
	switch {
	case path == "/sagsbehandler/ansoegninger":
		return letters.MaxDocumentBytes + 1<<20, true
	case path == "/skriv":
		return MaxCitizenPostBytes, true
	case strings.HasPrefix(path, "/breve/") && strings.HasSuffix(path, "/svar") && strings.Count(path, "/") == 3:
		return MaxCitizenPostBytes, true
	}
	return 0, false
}

// boundedForms bounds every request body before a handler reads it: Go's form parsing would
// otherwise hold up to 32 MB of a multipart body in memory and spool the rest to disk without
// limit, for anyone, signed in or not. A multipart body goes only to an upload route.
func boundedForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		limit := int64(MaxFormBytes)
		upload, isUpload := uploadLimit(r.URL.Path)
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
			if !isUpload {
				http.Error(w, "Formularen skal sendes som en almindelig formular (application/x-www-form-urlencoded).", http.StatusUnsupportedMediaType)
				return
			}
			limit = upload
		}
		if !isUpload && r.ContentLength > limit { // an upload route says "too large" beside its form
			http.Error(w, "Forespørgslen er for stor.", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// Paths the site answers; the senders' API keeps /v1, /healthz and /readyz.
var Paths = []string{"/{$}", "/log-ind", "/log-ind/", "/log-ud", "/dev/", "/oidc/", "/postkasse", "/postkasse/", "/breve/", "/sendt/", "/skriv",
	"/adgang/", "/profil", "/profil/", "/sagsbehandler", "/sagsbehandler/", "/afsender", "/afsender/", "/statistik", "/static/"}

func (s *Site) routes() {
	static, _ := fs.Sub(staticFiles, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /{$}", s.home)
	s.signInRoutes()
	s.citizenRoutes()
	s.caseworkerRoutes()
	s.senderRoutes()
	s.mux.HandleFunc("GET /statistik", s.statistics)
}

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(r)
	switch {
	case !ok:
		http.Redirect(w, r, "/log-ind", http.StatusSeeOther)
	case sess.Role == RoleCaseworker:
		http.Redirect(w, r, "/sagsbehandler", http.StatusSeeOther)
	case sess.Role == RoleSender:
		http.Redirect(w, r, "/afsender", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/postkasse", http.StatusSeeOther)
	}
}

// signIn opens a session: its row first, then the cookie. A session without an id gets a new
// one; an OpenID Connect sign-in brings the id it was started with (pagesessions.ErrTaken when that
// sign-in was used before).
func (s *Site) signIn(w http.ResponseWriter, r *http.Request, sess Session) error {
	if sess.ID == uuid.Nil {
		sess.ID = uuid.New()
	}
	sess.Expires = time.Now().Add(SessionLength)
	if err := s.d.Sessions.Open(r.Context(), sess.ID, sess.Role, sess.Expires); err != nil {
		return err
	}
	// Signing in to the mailbox is logging in to it, letter opened or not: a citizen who has
	// signed in gets no paper notice that digital post is waiting.
	if sess.Role == RoleCitizen {
		if err := s.d.CitizenService.RecordSignIn(r.Context(), sess.CitizenID); err != nil {
			return err
		}
	}
	v, err := s.cookies.Encode(sessionCookie, sess)
	if err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(r, sessionCookie, v, SessionLength))
	s.log.Info("signed in", "role", sess.Role, "user", sess.user(), "key", sess.KeyID)
	return nil
}

// cookie is HttpOnly and SameSite=Lax (the identity provider's redirect back is a top-level
// navigation from another site), and Secure behind TLS.
func (s *Site) cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()), HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"}
}

// need wraps a handler that requires a role; others are sent to sign in or refused. Every
// change made through a page (a POST) is logged with who made it, by role and id.
func (s *Site) need(role string, h func(http.ResponseWriter, *http.Request, Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.session(r)
		if !ok {
			http.Redirect(w, r, "/log-ind?videre="+urlPath(r), http.StatusSeeOther)
			return
		}
		if sess.Role != role {
			s.fail(w, r, sess, http.StatusForbidden, "Du har ikke adgang til denne side", "Siden kræver en anden rolle, end du er logget ind med.")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), signedInKey{}, sess))
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h(w, r, sess)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r, sess)
		s.log.Info("page action", "route", r.Pattern, "path", r.URL.Path, "role", sess.Role, "user", sess.user(), "status", sw.status)
	}
}

func urlPath(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/") && !strings.HasPrefix(r.URL.Path, "//") {
		return r.URL.Path
	}
	return "/"
}

// page is what every template receives.
type page struct {
	Title   string
	Session *Session
	Dev     bool
	Notice  string            // a confirmation after a form
	Errors  map[string]string // field → rule, shown beside the form
	Error   string            // a refusal not tied to one field
	Data    any
}

func (p page) Err(field string) string { return p.Errors[field] }

func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := s.pages[name]
	if !ok {
		panic("web: no page " + name)
	}
	if sess, ok := s.session(r); ok && p.Session == nil {
		p.Session = &sess
	}
	p.Dev = s.opts.Dev
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "siden kunne ikke vises", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail shows an error page.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, sess Session, status int, title, detail string) {
	p := page{Title: title, Error: detail}
	if sess.Role != "" {
		p.Session = &sess
	}
	s.render(w, r, status, "error.html", p)
}

// serverError logs what went wrong (without personal data: the route, not the form) and
// shows a plain page.
func (s *Site) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("page failed", "route", r.Pattern, "err", err)
	sess, _ := s.session(r)
	s.fail(w, r, sess, http.StatusInternalServerError, "Der skete en fejl", "Prøv igen om lidt. Fejlen er logget.")
}

// fieldErrors turns the engine's refusal into messages per form field; ok is false when err
// is not a refusal of the input.
func fieldErrors(err error) (map[string]string, bool) {
	list, ok := fielderr.Rules(err)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for _, e := range list {
		if prev, ok := out[e.Field]; ok {
			out[e.Field] = prev + "; " + e.Rule
		} else {
			out[e.Field] = e.Rule
		}
	}
	return out, true
}

// citizenOf loads the signed-in citizen.
func (s *Site) citizenOf(ctx context.Context, sess Session) (registry.Citizen, error) {
	return s.d.CitizenService.CitizenByID(ctx, sess.CitizenID)
}

var funcs = template.FuncMap{
	"date":     func(t time.Time) string { return calendar.DanishDate(t) },
	"datetime": func(t time.Time) string { return calendar.In(t).Format("02-01-2006 15:04") },
	"percent":  func(f float64) string { return strings.Replace(fmt.Sprintf("%.1f %%", 100*f), ".", ",", 1) },
	"thousands": func(n int) string {
		s := fmt.Sprint(n)
		for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
			s = s[:i] + "." + s[i:]
		}
		return s
	},
	"lines":  func(s string) []string { return strings.Split(s, "\n") },
	"danish": danish,
	"inc":    func(i int) int { return i + 1 },
}

// danish names one of the engine's states in Danish; an unknown one shows as it is.
func danish(v any) string {
	k := fmt.Sprint(v)
	if d, ok := danishNames[k]; ok {
		return d
	}
	return k
}

var danishNames = map[string]string{
	"awaiting_proxy_verification": "fuldmagt skal vurderes", "awaiting_decision": "afventer afgørelse",
	"approved": "fritaget", "rejected": "afslået",
	"received": "modtaget", "delivered": "leveret", "notified": "notificeret", "opened": "åbnet",
	"escalated": "sendt på papir efter fristen", "printed": "sendt på papir", "withdrawn": "trukket tilbage", "failed": "fejlet",
	"posted": "afsendt med posten", "returned": "returneret som uanbringelig", "print_failed": "fejl hos printhuset",
	"digital": "digitalt", "paper": "papir", "digital+paper": "digitalt, så papir", "undecided": "endnu ikke afgjort",
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", base, err)
		}
		out[base] = t
	}
	return out, nil
}

// noticeCookie carries a page's notice ("Din anmodning er sendt.") across the redirect after a
// form. It used to travel as ?besked=, so anyone could send a citizen a link to an official page
// that showed the sender's text as the authority's notice.
const noticeCookie = "dp_besked"

// redirectWithNotice redirects to path, which shows notice once.
func (s *Site) redirectWithNotice(w http.ResponseWriter, r *http.Request, path, notice string) {
	if v, err := s.cookies.Encode(noticeCookie, notice); err == nil {
		http.SetCookie(w, s.cookie(r, noticeCookie, v, time.Minute))
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// takeNotice returns the notice redirectWithNotice left for this page, once; nothing else.
func (s *Site) takeNotice(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(noticeCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, s.cookie(r, noticeCookie, "", -time.Second))
	var notice string
	if s.cookies.Decode(noticeCookie, c.Value, &notice) != nil {
		return ""
	}
	return notice
}
