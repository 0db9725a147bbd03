package codec

import "testing"

// A secret sealed for one owner opens only for that owner and with a key of the ring.
func TestSealedSecretsOpenOnlyForTheirOwner(t *testing.T) {
	keys, err := ParseKeys(NewKeySpec("k1"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := keys.Seal([]byte("whsec_abc"), []byte("webhook secret skat"))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := keys.Open(sealed, []byte("webhook secret skat")); err != nil || string(plain) != "whsec_abc" {
		t.Fatalf("opened %q, %v", plain, err)
	}
	if _, err := keys.Open(sealed, []byte("webhook secret region-midt")); err == nil {
		t.Fatal("a secret moved to another sender's row opened")
	}
	other, _ := ParseKeys(NewKeySpec("k1"))
	if _, err := other.Open(sealed, []byte("webhook secret skat")); err == nil {
		t.Fatal("a secret opened with another key of the same id")
	}
	if _, err := keys.Open("k1:"+sealed[len("k1:"):len(sealed)-4]+"AAAA", []byte("webhook secret skat")); err == nil {
		t.Fatal("a tampered secret opened")
	}
}
