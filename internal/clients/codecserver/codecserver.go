// Package codecserver lets the Temporal UI (and `temporal` CLI) show decrypted payloads to
// operators who hold the token, and ciphertext to everyone else.
package codecserver

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"

	"digitalpost/internal/infra/codec"
)

// Handler serves the decoding half of the remote-codec protocol (POST …/decode) behind a token.
// It does not encode: a sealed payload is what the workers take as written by Digital Post,
// and sealing one for a signal or an Update from the UI or the CLI would let the token's
// holder decide a case or answer a citizen's request. Operators act through the engine's
// own commands (`starter`), which check who acts.
// The token comes only as "Authorization: Bearer <token>". It used to be taken as the first
// path segment too ("/<token>/decode"), and a URL ends up in browser histories, proxy logs and
// the UI's settings, where anyone who reads them can decode every history; the operator gate
// now serves the UI its codec on the UI's own origin, with no secret in the URL.
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
		bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !equal(bearer, token) {
			http.Error(w, "operator token required: Authorization: Bearer <OPERATOR_TOKEN>", http.StatusUnauthorized)
			return
		}
		codecHandler.ServeHTTP(w, r)
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

func equal(a, b string) bool { return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
