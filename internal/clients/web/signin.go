package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"digitalpost/internal/domain/apikeys"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/pagesessions"
	"digitalpost/internal/domain/registry"
)

// Claims names the token claims the pages read; identity providers differ. The national eID
// broker (MitID Erhverv / NemLog-in) and municipal providers each name the CPR number and the
// roles their own way, so each name is configurable.
type Claims struct {
	CPR string // the citizen's CPR number
	// Roles names the claim listing role names (or one string); none is read when it is empty.
	// It must be a claim only the provider sets for its own staff: the configured default,
	// "roles", is a generic name, trusted only as far as the provider is.
	Roles          string
	Name           string // the display name
	Sender         string // a sender's id, for the sender role
	CaseworkerRole string // the role value that makes a caseworker; empty: no one is a caseworker by this provider
	SenderRole     string // the role value that makes a sender's user; empty: no one is
	// AllowedACR lists the assurance levels (the token's acr claim) a sign-in may have; a
	// token without one of them is refused. Empty: NSISSubstantialOrHigh.
	AllowedACR []string
}

// NSISSubstantialOrHigh are the assurance levels letters may be read at: MitID at NSIS
// Substantial or High, as the national eID broker names them. A Low sign-in (a username and
// password, say) does not open anyone's post.
var NSISSubstantialOrHigh = []string{"https://data.gov.dk/concept/core/nsis/loa/Substantial", "https://data.gov.dk/concept/core/nsis/loa/High"}

// OIDC signs people in through an OpenID Connect provider (authorisation code flow with PKCE).
type OIDC struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	claims   Claims
}

// allowedACR is the configured assurance levels, or the default.
func (o *OIDC) allowedACR() []string {
	if len(o.claims.AllowedACR) > 0 {
		return o.claims.AllowedACR
	}
	return NSISSubstantialOrHigh
}

// NewOIDC discovers the provider at issuer.
func NewOIDC(ctx context.Context, issuer, clientID, clientSecret, redirectURL string, claims Claims) (*OIDC, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC_ISSUER %s: %w", issuer, err)
	}
	return &OIDC{
		oauth: oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile"}},
		verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		claims:   claims,
	}, nil
}

const oidcCookie = "dp_oidc"

// oidcFlow is what the callback must find again: kept sealed in a short-lived cookie.
type oidcFlow struct {
	State, Nonce, Verifier, Next string
	// Session is the id the sign-in's session will have: its callback, replayed, finds the
	// session taken and is refused, whatever the identity provider does with the code again.
	Session uuid.UUID
	Started time.Time
}

// oidcFlowLength is how long a sign-in at the identity provider may take. The sealed cookie's
// own limit is the session's, so the flow carries its start.
const oidcFlowLength = 10 * time.Minute

func (s *Site) signInRoutes() {
	s.mux.HandleFunc("GET /log-ind", s.signInPage)
	s.mux.HandleFunc("POST /log-ind/afsender", s.senderSignIn)
	s.mux.HandleFunc("POST /log-ud", s.signOut)
	if s.opts.Dev {
		s.mux.HandleFunc("POST /dev/log-ind", s.devSignIn)
	}
	if s.opts.OIDC != nil {
		s.mux.HandleFunc("GET /oidc/log-ind", s.oidcStart)
		s.mux.HandleFunc("GET /oidc/callback", s.oidcCallback)
	}
}

type signInData struct {
	Next      string
	OIDC      bool
	Citizens  []registry.Citizen // dev only: the first citizens in the registry
	CPR       string
	KeyFailed bool
}

func (s *Site) signInPage(w http.ResponseWriter, r *http.Request) {
	s.renderSignIn(w, r, http.StatusOK, page{}, signInData{})
}

func (s *Site) renderSignIn(w http.ResponseWriter, r *http.Request, status int, p page, d signInData) {
	d.Next, d.OIDC = safeNext(r.FormValue("videre")), s.opts.OIDC != nil
	if s.opts.Dev {
		list, err := s.d.CitizenService.FirstCitizens(r.Context(), 12)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		d.Citizens = list
	}
	p.Title, p.Data = "Log ind", d
	s.render(w, r, status, "signin.html", p)
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

// devSignIn is the development stand-in for the identity provider: pick a citizen (or type a
// CPR number) or name a caseworker. It exists only with -dev.
func (s *Site) devSignIn(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.FormValue("videre"))
	if name := strings.TrimSpace(r.FormValue("caseworker")); r.FormValue("role") == RoleCaseworker {
		if name == "" {
			s.renderSignIn(w, r, http.StatusUnprocessableEntity, page{Errors: map[string]string{"caseworker": "skriv sagsbehandlerens navn"}}, signInData{})
			return
		}
		s.finishSignIn(w, r, Session{Role: RoleCaseworker, Caseworker: name, Name: name}, next)
		return
	}
	number := strings.TrimSpace(r.FormValue("cpr"))
	c, err := s.citizenByCPR(r.Context(), number)
	if err != nil {
		var msgs map[string]string
		if errors.Is(err, registry.ErrNotFound) {
			msgs = map[string]string{"cpr": "borgeren findes ikke i registret"}
		} else if errors.Is(err, cpr.ErrMalformed) {
			msgs = map[string]string{"cpr": "CPR-nummeret skal være DDMMÅÅ-XXXX med en gyldig fødselsdato"}
		} else {
			s.serverError(w, r, err)
			return
		}
		s.renderSignIn(w, r, http.StatusUnprocessableEntity, page{Errors: msgs}, signInData{CPR: number})
		return
	}
	s.finishSignIn(w, r, Session{Role: RoleCitizen, CitizenID: c.ID, Name: c.Name}, next)
}

func (s *Site) citizenByCPR(ctx context.Context, number string) (registry.Citizen, error) {
	n, err := cpr.Parse(number)
	if err != nil {
		return registry.Citizen{}, err
	}
	return s.d.CitizenService.CitizenByCPR(ctx, n)
}

func (s *Site) finishSignIn(w http.ResponseWriter, r *http.Request, sess Session, next string) {
	err := s.signIn(w, r, sess)
	if errors.Is(err, pagesessions.ErrTaken) {
		s.log.Warn("a sign-in was used again", "role", sess.Role, "user", sess.user())
		s.fail(w, r, Session{}, http.StatusUnauthorized, "Log ind mislykkedes", "Dette log ind er allerede brugt. Log ind igen.")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if next == "/" {
		next = map[string]string{RoleCitizen: "/postkasse", RoleCaseworker: "/sagsbehandler", RoleSender: "/afsender"}[sess.Role]
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// senderSignIn signs a sender's user in with one of the sender's API keys, checked as the
// API checks it.
func (s *Site) senderSignIn(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimSpace(r.FormValue("key"))
	sender, err := s.d.PostOffice.SenderOfKey(r.Context(), key)
	if errors.Is(err, apikeys.ErrInvalid) || err == nil && apiKeyID(key) == "" {
		s.renderSignIn(w, r, http.StatusUnauthorized, page{Errors: map[string]string{"key": "nøglen er ukendt eller tilbagekaldt"}}, signInData{KeyFailed: true})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	org := sender
	if snd, err := s.d.PostOffice.Sender(r.Context(), sender); err == nil {
		org = snd.Organisation
	}
	s.finishSignIn(w, r, Session{Role: RoleSender, SenderID: sender, KeyID: apiKeyID(key), Name: org}, "/afsender")
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Site) oidcStart(w http.ResponseWriter, r *http.Request) {
	f := oidcFlow{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(), Next: safeNext(r.FormValue("videre")),
		Session: uuid.New(), Started: time.Now()}
	v, err := s.cookies.Encode(oidcCookie, f)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	http.SetCookie(w, s.cookie(r, oidcCookie, v, oidcFlowLength))
	// acr_values (OpenID Connect Core 3.1.2.1) asks the provider for the levels we accept, so
	// no one goes through a sign-in we then refuse; the token's acr is checked all the same.
	o := s.opts.OIDC
	http.Redirect(w, r, o.oauth.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier),
		oauth2.SetAuthURLParam("acr_values", strings.Join(o.allowedACR(), " "))), http.StatusFound)
}

func (s *Site) oidcCallback(w http.ResponseWriter, r *http.Request) {
	refuse := func(why string) {
		s.fail(w, r, Session{}, http.StatusUnauthorized, "Log ind mislykkedes", why)
	}
	var f oidcFlow
	c, err := r.Cookie(oidcCookie)
	if err != nil || s.cookies.Decode(oidcCookie, c.Value, &f) != nil || r.FormValue("state") != f.State ||
		f.Session == uuid.Nil || time.Since(f.Started) > oidcFlowLength {
		refuse("Log ind er udløbet eller blev startet et andet sted. Prøv igen.")
		return
	}
	http.SetCookie(w, s.cookie(r, oidcCookie, "", -time.Second))
	if e := r.FormValue("error"); e != "" {
		refuse("Identitetsudbyderen afviste: " + e)
		return
	}
	o := s.opts.OIDC
	tok, err := o.oauth.Exchange(r.Context(), r.FormValue("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		s.log.Warn("OIDC code exchange failed", "err", err)
		refuse("Koden fra identitetsudbyderen kunne ikke indløses.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := o.verifier.Verify(r.Context(), raw)
	if err != nil || idt.Nonce != f.Nonce {
		s.log.Warn("OIDC ID token refused", "err", err)
		refuse("Identitetsudbyderens svar kunne ikke bekræftes.")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		refuse("Identitetsudbyderens svar kunne ikke læses.")
		return
	}
	// The assurance level first: whoever the token names, a sign-in below it opens nothing.
	if acr, _ := claims["acr"].(string); !slices.Contains(o.allowedACR(), acr) {
		s.log.Warn("OIDC sign-in below the required assurance level", "acr", acr)
		refuse("Du skal logge ind med MitID på sikringsniveau Betydelig eller Høj. Dit log ind havde et lavere sikringsniveau eller intet.")
		return
	}
	sess, why := s.sessionFromClaims(r.Context(), idt.Issuer, idt.Subject, claims)
	if why != "" {
		refuse(why)
		return
	}
	sess.ID = f.Session
	s.finishSignIn(w, r, sess, f.Next)
}

// sessionFromClaims decides who signed in: a caseworker or a sender's user by role, else a
// citizen by CPR number. Roles are read only from the configured claim, and only a configured,
// non-empty role value counts; a caseworker is known by the verified token's issuer and subject.
func (s *Site) sessionFromClaims(ctx context.Context, issuer, subject string, claims map[string]any) (Session, string) {
	cn := s.opts.OIDC.claims
	name, _ := claims[cn.Name].(string)
	var roles []string
	if cn.Roles != "" {
		roles = stringList(claims[cn.Roles])
	}
	has := func(role string) bool { return role != "" && slices.Contains(roles, role) }
	switch {
	case has(cn.CaseworkerRole):
		if subject == "" {
			return Session{}, "Dit log ind gav ingen identitet for sagsbehandleren."
		}
		if name == "" {
			name = subject
		}
		return Session{Role: RoleCaseworker, Caseworker: issuer + "#" + subject, Name: name}, ""
	case has(cn.SenderRole):
		sender, _ := claims[cn.Sender].(string)
		snd, err := s.d.PostOffice.Sender(ctx, sender)
		if err != nil {
			return Session{}, "Afsenderen i dit log ind findes ikke."
		}
		return Session{Role: RoleSender, SenderID: snd.ID, Name: snd.Organisation}, ""
	}
	number, _ := claims[cn.CPR].(string)
	c, err := s.citizenByCPR(ctx, number)
	if err != nil {
		return Session{}, "Dit log ind gav intet CPR-nummer, der findes i registret."
	}
	return Session{Role: RoleCitizen, CitizenID: c.ID, Name: c.Name}, ""
}

func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return strings.Fields(t)
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
