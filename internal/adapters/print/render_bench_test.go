package print

import (
	"strings"
	"testing"
)

// BenchmarkRenderLetter renders a one-page letter, as every paper letter needs.
func BenchmarkRenderLetter(b *testing.B) {
	s := sheet()
	s.Body = strings.Repeat("Du er indkaldt til en undersøgelse på Aarhus Universitetshospital. ", 20)
	for b.Loop() {
		if _, _, err := Render(s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderWithDocument renders the cover page and merges a sender's one-page PDF behind it.
func BenchmarkRenderWithDocument(b *testing.B) {
	doc, _, err := Render(Sheet{Subject: "Bilag", Body: "Bilag"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := Render(sheet(), [][]byte{doc}); err != nil {
			b.Fatal(err)
		}
	}
}
