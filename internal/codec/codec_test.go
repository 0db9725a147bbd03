package codec

import (
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func payload(t *testing.T, v any) *commonpb.Payload {
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func keyring(t *testing.T, spec string) *Keyring {
	k, err := ParseKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealedPayloadHidesTheTextAndOpensAgain(t *testing.T) {
	c := New(keyring(t, NewKeySpec("k1")))
	in := payload(t, map[string]string{"cpr": "0101801234", "name": "Anna Jensen"})
	sealed, err := c.Encode([]*commonpb.Payload{in})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed[0].Data), "0101801234") || strings.Contains(string(sealed[0].Data), "Anna") {
		t.Fatal("sealed payload holds plaintext")
	}
	if string(sealed[0].Metadata["encryption-key-id"]) != "k1" || string(sealed[0].Metadata["encoding"]) != Encoding {
		t.Fatalf("metadata %v", sealed[0].Metadata)
	}
	opened, err := c.Decode(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if string(opened[0].Data) != string(in.Data) || string(opened[0].Metadata["encoding"]) != "json/plain" {
		t.Fatalf("opened %s %v", opened[0].Data, opened[0].Metadata)
	}
}

func TestRotatedKeyStillOpensOldPayloads(t *testing.T) {
	old := NewKeySpec("2025")
	sealedWithOld, err := New(keyring(t, old)).Encode([]*commonpb.Payload{payload(t, "old letter")})
	if err != nil {
		t.Fatal(err)
	}
	rotated := New(keyring(t, NewKeySpec("2026")+","+old))
	opened, err := rotated.Decode(sealedWithOld)
	if err != nil || string(opened[0].Data) != `"old letter"` {
		t.Fatalf("old payload after rotation: %s %v", opened[0].GetData(), err)
	}
	fresh, _ := rotated.Encode([]*commonpb.Payload{payload(t, "new letter")})
	if id := string(fresh[0].Metadata["encryption-key-id"]); id != "2026" {
		t.Fatalf("new payloads sealed with %q, want the first key", id)
	}
}

func TestPayloadWithARetiredKeyFailsClearly(t *testing.T) {
	sealed, _ := New(keyring(t, NewKeySpec("retired"))).Encode([]*commonpb.Payload{payload(t, "x")})
	_, err := New(keyring(t, NewKeySpec("current"))).Decode(sealed)
	if err == nil || !strings.Contains(err.Error(), `key "retired"`) {
		t.Fatalf("error %v", err)
	}
}

func TestTamperedPayloadDoesNotOpen(t *testing.T) {
	c := New(keyring(t, NewKeySpec("k1")))
	sealed, _ := c.Encode([]*commonpb.Payload{payload(t, "x")})
	sealed[0].Data[len(sealed[0].Data)-1] ^= 1
	if _, err := c.Decode(sealed); err == nil {
		t.Fatal("tampered payload opened")
	}
}

func TestUnsealedPayloadsPassThrough(t *testing.T) {
	in := payload(t, "plain")
	out, err := New(keyring(t, NewKeySpec("k1"))).Decode([]*commonpb.Payload{in})
	if err != nil || out[0] != in {
		t.Fatalf("plain payload changed: %v", err)
	}
}

func TestBadKeySpecsNameTheVariable(t *testing.T) {
	for _, spec := range []string{"", "nokey", "k1:notbase64!", "k1:" + "c2hvcnQ=", NewKeySpec("a") + "," + NewKeySpec("a")} {
		if _, err := ParseKeys(spec); err == nil || !strings.Contains(err.Error(), "PAYLOAD_KEYS") {
			t.Errorf("ParseKeys(%.12q…) error %v", spec, err)
		}
	}
}
