// Package codecserver lets the Temporal UI (and `temporal` CLI) show decrypted payloads to
// operators who hold the token, and ciphertext to everyone else.
package codecserver

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"

	"digitalpost/internal/codec"
)

// Handler serves the decoding half of the remote-codec protocol (POST …/decode) behind a token.
// It does not encode: a sealed payload is what the workers take as written by Digital Post,
// and sealing one for a signal or an Update from the UI or the CLI would let the token's
// holder decide a case or answer a citizen's request. Operators act through the engine's
// own commands (`starter`), which check who acts.
// The token may come as "Authorization: Bearer <token>" (a production UI configured to send
// it) or as the first path segment "/<token>/decode" (a codec endpoint URL given to the UI).
// uiOrigins are the origins allowed to call from a browser.
func Handler(c *codec.Codec, token string, uiOrigins []string) http.Handler {
	codecHandler := DecodeOnly(c)
	allowed := map[string]bool{}
	for _, o := range uiOrigins {
		allowed[strings.TrimRight(o, "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); allowed[origin] {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		path, ok := authorize(r, token)
		if !ok {
			http.Error(w, "operator token required", http.StatusUnauthorized)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = path
		codecHandler.ServeHTTP(w, r2)
	})
}

// DecodeOnly serves the remote-codec protocol's …/decode and refuses …/encode with 403 (see
// Handler for why); the operator gate serves its codec through it too.
func DecodeOnly(c converter.PayloadCodec) http.Handler {
	codecHandler := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/encode") {
			http.Error(w, "this codec server only decodes: act through the engine's commands, not by sending payloads to Temporal", http.StatusForbidden)
			return
		}
		codecHandler.ServeHTTP(w, r)
	})
}

// authorize checks the token and returns the path with any token segment removed.
func authorize(r *http.Request, token string) (string, bool) {
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(bearer, token) {
		return r.URL.Path, true
	}
	rest := strings.TrimPrefix(r.URL.Path, "/")
	first, tail, _ := strings.Cut(rest, "/")
	if equal(first, token) {
		return "/" + tail, true
	}
	return "", false
}

func equal(a, b string) bool { return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
