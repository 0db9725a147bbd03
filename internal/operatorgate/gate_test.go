package operatorgate_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"

	"digitalpost/internal/codec"
	"digitalpost/internal/operatorgate"
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
	decoded, _ := operator.Post(gate.URL+"/codec/decode", "application/json", bytes.NewReader(body))
	b, _ = io.ReadAll(decoded.Body)
	if decoded.StatusCode != http.StatusOK || !strings.Contains(string(b), "payloads") || strings.Contains(string(b), "encrypted") {
		t.Fatalf("decode after sign-in: %d %s", decoded.StatusCode, b)
	}
}
