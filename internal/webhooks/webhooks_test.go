package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// The signature is the Standard Webhooks one: base64 HMAC-SHA256 of "id.timestamp.body",
// keyed with the secret's bytes, prefixed "v1,". Checked against an HMAC computed here.
func TestSignatureIsStandardWebhooks(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	body := []byte(`{"type":"letter.delivered"}`)
	got, err := Sign(secret, "evt_1.2", 1764700000, body)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("evt_1.2.1764700000." + string(body)))
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	if other, _ := Sign(secret, "evt_1.3", 1764700000, body); other == got {
		t.Fatal("a different id signs the same")
	}
}

// Production receivers must be on the internet: https, and no address of our own network,
// checked when connecting (after DNS).
func TestWebhookURLsAndAddressesOfTheInternalNetworkAreRefused(t *testing.T) {
	h := &Hooks{}
	for _, u := range []string{"http://example.dk/hook", "ftp://example.dk", "https://user:pw@example.dk/", "/relative", ""} {
		if err := h.CheckURL(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	if err := h.CheckURL("https://example.dk/hooks/post"); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"127.0.0.1:5432", "10.0.0.5:443", "192.168.1.1:443", "169.254.169.254:80", "[::1]:443", "0.0.0.0:443"} {
		if err := h.refuseInternal("tcp", addr, nil); err == nil || !strings.Contains(err.Error(), "internal network") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if err := h.refuseInternal("tcp", "93.184.216.34:443", nil); err != nil {
		t.Fatal(err)
	}
	h.AllowInsecure = true
	if err := h.refuseInternal("tcp", "127.0.0.1:9099", nil); err != nil {
		t.Fatal(err)
	}
}
