// Package operatorgate puts the dev runtime's Temporal UI behind an operator sign-in and
// serves the payload codec beside it, on the same origin. The UI is then pointed at a codec
// URL that holds no secret: before, the operator token travelled in the codec URL, visible in
// the process list and handed to anyone by the UI's unauthenticated /api/v1/settings.
package operatorgate

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"go.temporal.io/sdk/converter"
)

// CodecPath is where the gate serves the codec (…/encode, …/decode).
const CodecPath = "/codec"

const (
	signInPath = "/operator/sign-in"
	cookieName = "dp_operator"
)

// New returns the gate: sign-in page, codec behind the session, everything else proxied to
// the UI at ui. The session cookie is an HMAC of the token, never the token itself.
func New(ui *url.URL, token string, codec converter.PayloadCodec) http.Handler {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("digitalpost operator session"))
	session := hex.EncodeToString(mac.Sum(nil))
	signedIn := func(r *http.Request) bool {
		c, err := r.Cookie(cookieName)
		return err == nil && hmac.Equal([]byte(c.Value), []byte(session))
	}
	codecHandler := http.StripPrefix(CodecPath, converter.NewPayloadCodecHTTPHandler(codec))
	proxy := httputil.NewSingleHostReverseProxy(ui)

	mux := http.NewServeMux()
	mux.HandleFunc(signInPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if hmac.Equal([]byte(r.PostFormValue("token")), []byte(token)) && token != "" {
				http.SetCookie(w, &http.Cookie{Name: cookieName, Value: session, Path: "/", HttpOnly: true,
					SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			w.WriteHeader(http.StatusUnauthorized)
			_ = signInPage.Execute(w, "Forkert operatørnøgle.")
			return
		}
		_ = signInPage.Execute(w, "")
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
