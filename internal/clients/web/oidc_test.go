package web_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"digitalpost/internal/clients/web"
	"digitalpost/internal/infra/testenv"
)

// identityProvider is an OpenID Connect provider for tests: it signs in whoever it is told
// to, with the claims it is given, by the authorisation code flow with PKCE.
type identityProvider struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	mu     sync.Mutex
	claims map[string]any // the next sign-in's claims
	codes  map[string]pending
	// tamper changes the next ID token's claims after the provider has set its own (iss, aud,
	// nonce, exp): a token that went wrong or was forged.
	tamper func(claims map[string]any)
	// lenient redeems a code more than once, as a broken provider might: our side must still
	// open one session per sign-in.
	lenient bool
	// forger, when set, signs the next ID token instead of the provider's key, under the
	// provider's key id: a token someone made without the provider.
	forger *rsa.PrivateKey
}

type pending struct{ nonce, challenge string }

func startIdentityProvider(t *testing.T) *identityProvider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &identityProvider{t: t, key: key, codes: map[string]pending{}}
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
		code := base64.RawURLEncoding.EncodeToString(key.N.Bytes()[:12]) + q.Get("state")[:8]
		p.mu.Lock()
		p.codes[code] = pending{nonce: q.Get("nonce"), challenge: q.Get("code_challenge")}
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
		if !p.lenient {
			delete(p.codes, r.FormValue("code")) // a code is redeemed once
		}
		claims := map[string]any{}
		for k, v := range p.claims {
			claims[k] = v
		}
		tamper, signingKey := p.tamper, key
		if p.forger != nil {
			signingKey = p.forger
		}
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != pend.challenge {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		now := time.Now()
		claims["iss"], claims["aud"], claims["nonce"] = p.srv.URL, "digitalpost", pend.nonce
		claims["iat"], claims["exp"] = now.Unix(), now.Add(5*time.Minute).Unix()
		if tamper != nil {
			tamper(claims)
		}
		body, _ := json.Marshal(claims)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: signingKey, KeyID: "k1"}}, nil)
		if err != nil {
			t.Error(err)
			return
		}
		jws, err := signer.Sign(body)
		if err != nil {
			t.Error(err)
			return
		}
		idToken, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *identityProvider) next(claims map[string]any) {
	p.mu.Lock()
	p.claims, p.tamper, p.forger = claims, nil, nil
	p.mu.Unlock()
}

// nextForged is next with the token signed by another key than the provider's.
func (p *identityProvider) nextForged(claims map[string]any) {
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.claims, p.tamper, p.forger = claims, nil, forger
	p.mu.Unlock()
}

// nextTampered is next with the token changed after the provider set its own claims.
func (p *identityProvider) nextTampered(claims map[string]any, tamper func(map[string]any)) {
	p.mu.Lock()
	p.claims, p.tamper, p.forger = claims, tamper, nil
	p.mu.Unlock()
}

// Citizens sign in with their CPR number from the token, caseworkers by their role; a token
// naming no one in the registry, or a callback whose state does not match, signs no one in.
func TestOpenIDConnectSignIn(t *testing.T) {
	sys := testenv.StartSystem(t)
	seedRegistry(t, sys)
	idp := startIdentityProvider(t)
	var site http.Handler
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { site.ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	claims := web.Claims{CPR: "https://data.gov.dk/model/core/eid/cprNumber", Name: "name", Roles: "roles", Sender: "sender_id",
		CaseworkerRole: "caseworker", SenderRole: "sender"}
	oidc, err := web.NewOIDC(context.Background(), idp.srv.URL, "digitalpost", "secret", hs.URL+"/oidc/callback", claims)
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(pagesOf(sys), slog.New(slog.NewTextHandler(io.Discard, nil)), web.Options{OIDC: oidc})
	if err != nil {
		t.Fatal(err)
	}
	site = s

	var c *http.Client
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := c.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Request.URL.Path, string(b)
	}
	signIn := func(who map[string]any) (int, string, string) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c = &http.Client{Jar: jar}
		idp.next(who)
		return get("/oidc/log-ind")
	}
	status, path, body := signIn(map[string]any{"sub": "a1", "name": "Anna Jensen", claims.CPR: "0101801234", "acr": nsisSubstantial})
	if status != http.StatusOK || path != "/postkasse" || !strings.Contains(body, "Logget ind som Anna Jensen") {
		t.Fatalf("citizen sign-in ended %d at %s", status, path)
	}
	// Caseworker pages need the caseworker role.
	if status, _, _ := get("/sagsbehandler"); status != http.StatusForbidden {
		t.Fatalf("a citizen on the caseworker desk: %d, want 403", status)
	}
	status, path, body = signIn(map[string]any{"sub": "k7", "name": "Karen Borgerservice", "roles": []string{"caseworker"}, "acr": nsisHigh})
	if status != http.StatusOK || path != "/sagsbehandler" || !strings.Contains(body, "Logget ind som Karen Borgerservice") {
		t.Fatalf("caseworker sign-in ended %d at %s", status, path)
	}
	status, path, body = signIn(map[string]any{"sub": "s1", "roles": "sender", "sender_id": "region-midt", "acr": nsisSubstantial})
	if status != http.StatusOK || path != "/afsender" || !strings.Contains(body, "Region Midtjylland") {
		t.Fatalf("sender sign-in ended %d at %s", status, path)
	}
	status, _, _ = signIn(map[string]any{"sub": "s2", "roles": "sender", "sender_id": "no-such-sender", "acr": nsisSubstantial})
	if status != http.StatusUnauthorized {
		t.Fatalf("a sender role for an unknown sender: %d", status)
	}
	status, _, body = signIn(map[string]any{"sub": "x", claims.CPR: "2112991234", "acr": nsisSubstantial})
	if status != http.StatusUnauthorized || strings.Contains(body, "Logget ind som") {
		t.Fatalf("a CPR number not in the registry: %d", status)
	}
	// A callback with a state of someone else's sign-in is refused.
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(hs.URL + "/oidc/callback?code=x&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged callback: %d", resp.StatusCode)
	}
	// Without -dev there is no development sign-in.
	resp, err = http.PostForm(hs.URL+"/dev/log-ind", url.Values{"role": {"citizen"}, "cpr": {"0101801234"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusOK {
		t.Fatalf("development sign-in answered %d outside -dev", resp.StatusCode)
	}
}
