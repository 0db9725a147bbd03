// Package operatorgate puts the dev runtime's Temporal UI behind an operator sign-in and
// serves the payload codec beside it, on the same origin. The UI is then pointed at a codec
// URL that holds no secret: before, the operator token travelled in the codec URL, visible in
// the process list and handed to anyone by the UI's unauthenticated /api/v1/settings.
package operatorgate

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"go.temporal.io/sdk/converter"

	"digitalpost/internal/clients/codecserver"
)

// CodecPath is where the gate serves the codec (…/decode; …/encode is refused, as by
// codecserver).
const CodecPath = "/codec"

const (
	signInPath  = "/operator/sign-in"
	signOutPath = "/operator/sign-out"
	cookieName  = "dp_operator"
)

// SessionLifetime is how long an operator's sign-in lasts.
const SessionLifetime = 8 * time.Hour

// New returns the gate: sign-in page, codec behind the session, everything else proxied to
// the UI at ui. Each sign-in gets a session of its own, a random id the gate holds for
// SessionLifetime or until sign-out, never derived from the token; failed sign-ins are
// throttled for everyone (a guess a second or two at most), which makes guessing the token
// hopeless at the price of a short wait for an operator during an attack.
func New(ui *url.URL, token string, codec converter.PayloadCodec) http.Handler {
	return newGate(ui, token, codec, time.Now)
}

func newGate(ui *url.URL, token string, codec converter.PayloadCodec, now func() time.Time) http.Handler {
	live := &sessions{byID: map[string]time.Time{}, now: now}
	guesses := rate.NewLimiter(rate.Every(2*time.Second), 5)
	signedIn := func(r *http.Request) bool {
		c, err := r.Cookie(cookieName)
		return err == nil && live.valid(c.Value)
	}
	codecHandler := http.StripPrefix(CodecPath, codecserver.DecodeOnly(codec))
	proxy := httputil.NewSingleHostReverseProxy(ui)

	mux := http.NewServeMux()
	mux.HandleFunc(signInPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 4096)
			if guesses.Tokens() < 1 { // asked before the token is compared: a guess must wait too
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(http.StatusTooManyRequests)
				_ = signInPage.Execute(w, "For mange forkerte forsøg. Prøv igen om lidt.")
				return
			}
			if token != "" && hmac.Equal([]byte(r.PostFormValue("token")), []byte(token)) {
				http.SetCookie(w, &http.Cookie{Name: cookieName, Value: live.start(), Path: "/", HttpOnly: true,
					SameSite: http.SameSiteStrictMode, Secure: secure(r), MaxAge: int(SessionLifetime / time.Second)})
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			_ = guesses.Allow() // a wrong token uses up a guess
			w.WriteHeader(http.StatusUnauthorized)
			_ = signInPage.Execute(w, "Forkert operatørnøgle.")
			return
		}
		_ = signInPage.Execute(w, "")
	})
	mux.HandleFunc(signOutPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if c, err := r.Cookie(cookieName); err == nil {
			live.end(c.Value)
		}
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: secure(r)})
		http.Redirect(w, r, signInPath, http.StatusSeeOther)
	})
	mux.HandleFunc(CodecPath+"/", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn(r) {
			http.Error(w, "operator sign-in required", http.StatusUnauthorized)
			return
		}
		codecHandler.ServeHTTP(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !signedIn(r) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				http.Error(w, "operator sign-in required", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, signInPath, http.StatusSeeOther)
			return
		}
		proxy.ServeHTTP(w, r)
	})
	return mux
}

// sessions are the operators' live sign-ins: random ids with their expiry. Held in memory: a
// restarted gate signs everyone out.
type sessions struct {
	mu   sync.Mutex
	byID map[string]time.Time
	now  func() time.Time
}

func (s *sessions) start() string {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		panic(err) // crypto/rand does not fail on the platforms Go supports
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	for old, until := range s.byID { // expired sessions go as new ones come
		if !s.now().Before(until) {
			delete(s.byID, old)
		}
	}
	s.byID[id] = s.now().Add(SessionLifetime)
	return id
}

func (s *sessions) valid(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.byID[id]
	return ok && s.now().Before(until)
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// secure tells whether the session cookie must only travel over TLS: always, except to a gate
// reached over plain http on this machine (the dev runtime). Behind a proxy that ends TLS the
// request itself is plain, so the proxy's X-Forwarded-Proto counts as TLS too.
func secure(r *http.Request) bool {
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip, parseErr := netip.ParseAddr(host)
	return err != nil || parseErr != nil || !ip.Unmap().IsLoopback()
}

var signInPage = template.Must(template.New("sign-in").Parse(`<!doctype html>
<html lang="da"><head><meta charset="utf-8"><title>Log ind som operatør – Digital Post</title></head>
<body><main>
<h1>Temporal UI for Digital Post</h1>
<p>Udviklingsmiljø: log ind med operatørnøglen (OPERATOR_TOKEN i .devdata/dev.env) for at se forløb med dekrypterede data.</p>
{{if .}}<p role="alert">{{.}}</p>{{end}}
<form method="post" action="/operator/sign-in">
<label for="token">Operatørnøgle</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log ind</button>
</form>
</main></body></html>
`))
