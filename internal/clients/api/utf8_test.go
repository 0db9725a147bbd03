package api

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// Valid text passes whole however the reads cut it, multi-byte characters included; the
// first bytes that are not UTF-8, anywhere, fail the read.
func TestUTF8ReaderPassesTextAndStopsAtBadBytes(t *testing.T) {
	text := strings.Repeat(`{"subject":"Årsopgørelse 💌 ok"}`, 200)
	for name, r := range map[string]io.Reader{
		"one byte at a time": iotest.OneByteReader(strings.NewReader(text)),
		"half reads":         iotest.HalfReader(strings.NewReader(text)),
		"whole":              strings.NewReader(text),
	} {
		got, err := io.ReadAll(&utf8Reader{r: r})
		if err != nil || string(got) != text {
			t.Errorf("%s: %v, %d of %d bytes", name, err, len(got), len(text))
		}
	}
	for name, bad := range map[string]string{
		"Latin-1":          "K\xf8benhavn",
		"a cut-off ending": "abc\xe2\x82",
		"a lone surrogate": "a\xed\xa0\x80b",
	} {
		_, err := io.ReadAll(&utf8Reader{r: iotest.OneByteReader(strings.NewReader(bad))})
		if !errors.Is(err, errNotUTF8) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
