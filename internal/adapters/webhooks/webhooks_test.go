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
	for _, addr := range []string{"127.0.0.1:5432", "10.0.0.5:443", "192.168.1.1:443", "169.254.169.254:80", "[::1]:443", "0.0.0.0:443",
		"[::ffff:127.0.0.1]:443", "[::ffff:10.1.2.3]:443", "100.100.100.200:80", "100.64.0.1:443", "[64:ff9b::a00:1]:443",
		"[64:ff9b::7f00:1]:443", "198.18.0.1:443", "192.0.0.8:443", "240.0.0.1:443", "255.255.255.255:443", "[2002:7f00:1::]:443",
		"[2001:0:4136:e378:8000:63bf:3fff:fdd2]:443", "[fd00::1]:443", "[fe80::1%eth0]:443", "224.0.0.1:443", "not-an-ip:443"} {
		if err := h.refuseInternal("tcp", addr, nil); err == nil || !strings.Contains(err.Error(), "internal network") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	for _, addr := range []string{"93.184.216.34:443", "[2a00:1450:4001:80b::200e]:443", "8.8.8.8:443", "[64:ff9b::5db8:d822]:443"} {
		if err := h.refuseInternal("tcp", addr, nil); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	// http:// alone does not open the internal network (it did: WEBHOOK_ALLOW_HTTP turned the check off).
	h.AllowHTTP = true
	if err := h.CheckURL("http://example.dk/hook"); err != nil {
		t.Fatal(err)
	}
	if err := h.refuseInternal("tcp", "127.0.0.1:9099", nil); err == nil {
		t.Fatal("allowing http let a receiver on this machine through")
	}
	h.AllowInternal = true
	if err := h.refuseInternal("tcp", "127.0.0.1:9099", nil); err != nil {
		t.Fatal(err)
	}
}
