package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"digitalpost/internal/clients/web"
)

// identityProvider is an OpenID Connect provider of the suite's own (authorisation code flow
// with PKCE, RS256), so the pages run with real sign-in and the OIDC attacks can be tried:
// it signs in whoever it is told to, and can be told to lie (another audience, issuer or
// nonce, an expired token).
type identityProvider struct {
	srv   *httptest.Server
	key   *rsa.PrivateKey
	mu    sync.Mutex
	next  signInAs
	codes map[string]pending
}

// signInAs is what the next token says: the claims, and any of iss, aud, nonce, exp to
// replace the honest values.
type signInAs struct {
	claims   map[string]any
	override map[string]any
}

type pending struct {
	nonce, challenge string
	as               signInAs
}

// acrSubstantial is the assurance level honest sign-ins carry: the first the pages accept.
var acrSubstantial = web.NSISSubstantialOrHigh[0]

const (
	acrLow   = "https://data.gov.dk/concept/core/nsis/loa/Low"
	cprClaim = "https://data.gov.dk/model/core/eid/cprNumber"
)

func startIdentityProvider() *identityProvider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	p := &identityProvider{key: key, codes: map[string]pending{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "PKCE required", http.StatusBadRequest)
			return
		}
		code := randomHex(16)
		p.mu.Lock()
		p.codes[code] = pending{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), as: p.next}
		p.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		v := back.Query()
		v.Set("code", code)
		v.Set("state", q.Get("state"))
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		pend, ok := p.codes[r.FormValue("code")]
		delete(p.codes, r.FormValue("code")) // a code is good once
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != pend.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		now := time.Now()
		claims := map[string]any{"iss": p.srv.URL, "aud": "digitalpost", "nonce": pend.nonce,
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		for k, v := range pend.as.claims {
			claims[k] = v
		}
		for k, v := range pend.as.override {
			claims[k] = v
		}
		body, _ := json.Marshal(claims)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		jws, err := signer.Sign(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		idToken, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
	})
	p.srv = httptest.NewServer(mux)
	return p
}

func (p *identityProvider) signInNext(as signInAs) {
	p.mu.Lock()
	p.next = as
	p.mu.Unlock()
}

// receiver is a webhook receiver on this machine, on every address (IPv4 and IPv6, so
// [::ffff:127.0.0.1] and [::1] reach it too), that counts the calls to each path.
type receiver struct {
	srv   *http.Server
	port  int
	mu    sync.Mutex
	calls map[string]int
}

func startReceiver() *receiver {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		panic(err)
	}
	rc := &receiver{port: ln.Addr().(*net.TCPAddr).Port, calls: map[string]int{}}
	rc.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.calls[r.URL.Path]++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rc.srv.Serve(ln) }()
	return rc
}

// url is the receiver's address for path, on loopback.
func (rc *receiver) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", rc.port, path)
}

// callsTo counts the calls that reached the path of target.
func (rc *receiver) callsTo(target string) int {
	u, err := url.Parse(target)
	if err != nil {
		return -1
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.calls[u.Path]
}

func (rc *receiver) close() { _ = rc.srv.Close() }
