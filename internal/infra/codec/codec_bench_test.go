package codec

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
)

// BenchmarkSealAndOpen seals and opens a letter-sized payload, as every workflow input,
// result and activity argument is.
func BenchmarkSealAndOpen(b *testing.B) {
	keys, err := ParseKeys(NewKeySpec("k1"))
	if err != nil {
		b.Fatal(err)
	}
	c := New(keys)
	p := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data: []byte(`{"LetterID":"6f1c3c52-8e0c-4c1e-9a47-0c5d0f0a7d10","SenderID":"region-midt","Deadline":259200000000000}`)}}
	b.SetBytes(int64(len(p[0].Data)))
	for b.Loop() {
		sealed, err := c.Encode(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decode(sealed); err != nil {
			b.Fatal(err)
		}
	}
}
