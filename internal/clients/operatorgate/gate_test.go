package operatorgate_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"digitalpost/internal/clients/operatorgate"
	"digitalpost/internal/infra/codec"
)

const token = "0123456789abcdef0123456789abcdef"

func TestUIAndCodecNeedTheOperatorsSignInAndNoTokenIsHandedOut(t *testing.T) {
	// The real UI's settings name the codec at a URL without any secret.
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"Codec":{"Endpoint":"http://127.0.0.1:8233/codec"}}`)
	}))
	defer ui.Close()
	uiURL, _ := url.Parse(ui.URL)
	keys, _ := codec.ParseKeys(codec.NewKeySpec("k1"))
	gate := httptest.NewServer(operatorgate.New(uiURL, token, codec.New(keys)))
	defer gate.Close()

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, _ := noRedirect.Get(gate.URL + "/api/v1/settings"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("settings without sign-in: %d", resp.StatusCode)
	}
	if resp, _ := noRedirect.Get(gate.URL + "/namespaces/default/workflows"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("UI page without sign-in: %d, want a redirect to the sign-in", resp.StatusCode)
	}
	sealed, _ := converter.GetDefaultDataConverter().ToPayloads("Anna Jensen")
	enc, _ := codec.New(keys).Encode(sealed.Payloads)
	body, _ := json.Marshal(map[string]any{"payloads": enc})
	if resp, _ := noRedirect.Post(gate.URL+"/codec/decode", "application/json", bytes.NewReader(body)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("decode without sign-in: %d", resp.StatusCode)
	}
	if resp, _ := noRedirect.PostForm(gate.URL+"/operator/sign-in", url.Values{"token": {"wrong"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sign-in with a wrong token: %d", resp.StatusCode)
	}

	jar, _ := cookiejar.New(nil)
	operator := &http.Client{Jar: jar}
	resp, err := operator.PostForm(gate.URL+"/operator/sign-in", url.Values{"token": {token}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	for _, c := range jar.Cookies(resp.Request.URL) {
		if strings.Contains(c.Value, token) {
			t.Fatal("the session cookie carries the token")
		}
	}
	settings, _ := operator.Get(gate.URL + "/api/v1/settings")
	b, _ := io.ReadAll(settings.Body)
	if settings.StatusCode != http.StatusOK || strings.Contains(string(b), token) {
		t.Fatalf("settings after sign-in: %d %s", settings.StatusCode, b)
	}
	decoded, err := operator.Post(gate.URL+"/codec/decode", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(decoded.Body)
	// The answer's metadata and data are base64: read them, not the text, to see them opened.
	var opened commonpb.Payloads
	if err := protojson.Unmarshal(b, &opened); decoded.StatusCode != http.StatusOK || err != nil || len(opened.Payloads) != 1 {
		t.Fatalf("decode after sign-in: %d %s (%v)", decoded.StatusCode, b, err)
	}
	var name string
	if err := converter.GetDefaultDataConverter().FromPayload(opened.Payloads[0], &name); err != nil || name != "Anna Jensen" {
		t.Fatalf("decode after sign-in gave %q (%v), metadata %q, want the payload opened", name, err, opened.Payloads[0].GetMetadata())
	}
	// Signed in or not, the gate seals nothing: a sealed payload is what the workers act on.
	encoded, _ := operator.Post(gate.URL+"/codec/encode", "application/json", bytes.NewReader(body))
	encoded.Body.Close()
	if encoded.StatusCode != http.StatusForbidden {
		t.Fatalf("encode after sign-in: %d, want 403", encoded.StatusCode)
	}
}

func signIn(t *testing.T, gate string, header map[string]string) *http.Cookie {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, gate+"/operator/sign-in", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "dp_operator" {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func statusWith(t *testing.T, method, target string, c *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(method, target, nil)
	if c != nil {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Each sign-in is a session of its own that expires and ends at sign-out; the old cookie, an
// HMAC of the token and a constant, was one session for every operator, for ever.
func TestSessionsAreEachOperatorsOwnAndEnd(t *testing.T) {
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") }))
	defer ui.Close()
	uiURL, _ := url.Parse(ui.URL)
	keys, _ := codec.ParseKeys(codec.NewKeySpec("k1"))
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	gate := httptest.NewServer(operatorgate.NewAt(uiURL, token, codec.New(keys), func() time.Time { return now }))
	defer gate.Close()
	settings := gate.URL + "/api/v1/settings"

	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("digitalpost operator session"))
	if got := statusWith(t, http.MethodGet, settings, &http.Cookie{Name: "dp_operator", Value: hex.EncodeToString(mac.Sum(nil))}); got != http.StatusUnauthorized {
		t.Fatalf("the old token-derived cookie: %d, want 401", got)
	}
	first, second := signIn(t, gate.URL, nil), signIn(t, gate.URL, nil)
	if first.Value == second.Value {
		t.Fatal("two sign-ins share a session")
	}
	if first.Secure {
		t.Fatal("a plain-http gate on loopback (the dev runtime) set a Secure cookie it could not send back")
	}
	if c := signIn(t, gate.URL, map[string]string{"X-Forwarded-Proto": "https"}); !c.Secure {
		t.Fatal("behind a TLS proxy the session cookie is not Secure")
	}
	if got := statusWith(t, http.MethodPost, gate.URL+"/operator/sign-out", first); got != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", got)
	}
	if got := statusWith(t, http.MethodGet, settings, first); got != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %d, want 401", got)
	}
	if got := statusWith(t, http.MethodGet, settings, second); got != http.StatusOK {
		t.Fatalf("the other operator's session after the first signed out: %d", got)
	}
	now = now.Add(operatorgate.SessionLifetime)
	if got := statusWith(t, http.MethodGet, settings, second); got != http.StatusUnauthorized {
		t.Fatalf("after %s: %d, want 401", operatorgate.SessionLifetime, got)
	}
}

func TestGuessingTheTokenIsThrottled(t *testing.T) {
	keys, _ := codec.ParseKeys(codec.NewKeySpec("k1"))
	uiURL, _ := url.Parse("http://127.0.0.1:1")
	gate := httptest.NewServer(operatorgate.New(uiURL, token, codec.New(keys)))
	defer gate.Close()
	codes := map[int]int{}
	for i := range 20 {
		resp, err := http.PostForm(gate.URL+"/operator/sign-in", url.Values{"token": {fmt.Sprintf("guess-%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[http.StatusUnauthorized] > 6 || codes[http.StatusTooManyRequests] < 14 {
		t.Fatalf("20 quick guesses answered %v: not throttled", codes)
	}
	// While throttled, even the right token waits: otherwise guessing goes on at full speed,
	// with only the wrong answers slowed.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).PostForm(
		gate.URL+"/operator/sign-in", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the right token while throttled: %d, want 429", resp.StatusCode)
	}
}
