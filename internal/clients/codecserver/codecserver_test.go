package codecserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"digitalpost/internal/infra/codec"
)

const token = "operator-token-0123456789"

func sealedBody(t *testing.T, c *codec.Codec) []byte {
	p, _ := converter.GetDefaultDataConverter().ToPayload("Anna Jensen, 010180-1234")
	sealed, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newServer(t *testing.T) (*httptest.Server, *codec.Codec) {
	keys, _ := codec.ParseKeys(codec.NewKeySpec("k1"))
	c := codec.New(keys)
	srv := httptest.NewServer(Handler(c, token, []string{"http://127.0.0.1:8233"}))
	t.Cleanup(srv.Close)
	return srv, c
}

func decode(t *testing.T, url string, body []byte, header map[string]string) *http.Response {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestRefusesWithoutTheOperatorToken(t *testing.T) {
	srv, c := newServer(t)
	for name, h := range map[string]map[string]string{"no token": nil, "wrong token": {"Authorization": "Bearer guess"}} {
		if resp := decode(t, srv.URL+"/decode", sealedBody(t, c), h); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
		}
	}
	if resp := decode(t, srv.URL+"/wrong-token/decode", sealedBody(t, c), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong path token: status %d", resp.StatusCode)
	}
	// The right token in the path is refused too: a URL is kept in histories and logs
	// (issue 23, L).
	if resp := decode(t, srv.URL+"/"+token+"/decode", sealedBody(t, c), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the operator token in the path: status %d, want 401", resp.StatusCode)
	}
}

func TestDecodesForAnOperator(t *testing.T) {
	srv, c := newServer(t)
	for name, tc := range map[string]struct {
		url    string
		header map[string]string
	}{
		"bearer": {srv.URL + "/decode", map[string]string{"Authorization": "Bearer " + token}},
	} {
		resp := decode(t, tc.url, sealedBody(t, c), tc.header)
		var out struct {
			Payloads []struct {
				Data string `json:"data"`
			} `json:"payloads"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Payloads) != 1 {
			t.Fatalf("%s: status %d", name, resp.StatusCode)
		}
		var p commonpb.Payload
		raw, _ := json.Marshal(out.Payloads[0])
		_ = protojson.Unmarshal(raw, &p)
		if !strings.Contains(string(p.Data), "Anna Jensen") {
			t.Fatalf("%s: decoded %q", name, p.Data)
		}
	}
}

func TestBrowserPreflightFromTheUIOrigin(t *testing.T) {
	srv, _ := newServer(t)
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	req.Header.Set("Origin", "http://127.0.0.1:8233")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8233" {
		t.Fatalf("CORS header %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
	req.Header.Set("Origin", "http://evil.example")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS allowed a foreign origin")
	}
}

// An operator with the token could otherwise seal {"Approve":true} and send it to a case with
// the CLI's --codec-endpoint.
func TestDoesNotSealPayloadsForAnyone(t *testing.T) {
	srv, _ := newServer(t)
	p, _ := converter.GetDefaultDataConverter().ToPayload(map[string]any{"Approve": true})
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	for _, url := range []string{srv.URL + "/encode", srv.URL + "/" + token + "/encode"} {
		resp := decode(t, url, body, map[string]string{"Authorization": "Bearer " + token})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", url, resp.StatusCode)
		}
	}
}
