package registry

import (
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalizeMobile(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"   ":             "",
		"20000001":        "+4520000001",
		"20 00 00 01":     "+4520000001",
		"+45 20 00 00 01": "+4520000001",
		"+4531234567":     "+4531234567", // landline ranges are accepted: the plan no longer tells them apart
		"+4591234567":     "+4591234567", // 91–93 are mobile
		"+46701234567":    "+46701234567",
		"+447911123456":   "+447911123456",
		"+1 415 555 2671": "+14155552671",
	} {
		if got, err := NormalizeMobile(in); err != nil || got != want {
			t.Errorf("%q: got %q %v, want %q", in, got, err, want)
		}
	}
	for in, rule := range map[string]string{
		"2000000":           "eight Danish digits",     // seven digits
		"+45 2000 0001 1":   "exactly eight digits",    // nine Danish digits
		"+45 2000 001":      "exactly eight digits",    // seven after +45
		"+45 70 10 20 30":   "service number",          // shared cost
		"80 20 30 40":       "service number",          // freephone
		"+4590123456":       "service number",          // premium rate
		"+4512345678":       "not a subscriber number", // short-code range
		"01234567":          "not a subscriber number", // no Danish number starts with 0
		"+0123456789":       "a + and 8 to 15 digits",  // no country code starts with 0
		"+1234567890123456": "a + and 8 to 15 digits",  // 16 digits
		"+45-20-00-00-01":   "a + and 8 to 15 digits",  // dashes are not digits
		"4520000001":        "a + and 8 to 15 digits",  // without the +, ten digits are not Danish
		"+452000000\x00":    "a + and 8 to 15 digits",  // NUL
		"+45２０００００００１":      "a + and 8 to 15 digits",  // full-width digits
		"+":                 "a + and 8 to 15 digits",
	} {
		got, err := NormalizeMobile(in)
		if err == nil || !strings.Contains(err.Error(), rule) {
			t.Errorf("%q: got %q %v, want a refusal saying %q", in, got, err, rule)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"anna@example.dk":                       "anna@example.dk",
		"  anna@example.dk ":                    "anna@example.dk",
		"anna.jensen+post@mail.dk":              "anna.jensen+post@mail.dk",
		"søren@ærø.dk":                          "søren@ærø.dk",
		strings.Repeat("a", 64) + "@example.dk": strings.Repeat("a", 64) + "@example.dk",
	} {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("%q: got %q %v, want %q", in, got, err, want)
		}
	}
	long := strings.Repeat("a", 60) + "@" + strings.Repeat("b", 191) + ".dk" // 255 bytes
	for in, rule := range map[string]string{
		"Anna Jensen <anna@example.dk>":         "without a display name",
		`"Anna" <anna@example.dk>`:              "without a display name",
		"<anna@example.dk>":                     "the address alone",
		"anna@example.dk (Anna)":                "without a display name",
		"anna@localhost":                        "a domain with a dot",
		"anna@example.":                         "e-mail address like", // net/mail refuses it already
		"anna@.example.dk":                      "e-mail address like", // net/mail refuses it already
		"anna@[192.0.2.1]":                      "not an IP address",
		long:                                    "at most 254 bytes",
		strings.Repeat("a", 65) + "@example.dk": "at most 64 bytes before the @",
		"anna@exa\x00mple.dk":                   "NUL",
		"anna\x07@example.dk":                   "control characters",
		"anna@example.dk\u0085x":                "control characters", // C1 next line
		"anna\t@example.dk":                     "control characters",
		"anna@ex\xe6mple.dk":                    "UTF-8",
		"anna":                                  "e-mail address like",
		"anna@example.dk, bo@example.dk":        "e-mail address like",
	} {
		got, err := NormalizeEmail(in)
		if err == nil || !strings.Contains(err.Error(), rule) {
			t.Errorf("%q: got %q %v, want a refusal saying %q", in, got, err, rule)
		}
	}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// FuzzNormalizeMobile: whatever is typed, an accepted number is E.164, normalizing it again
// gives the same number, and a Danish one has eight digits outside the service ranges.
func FuzzNormalizeMobile(f *testing.F) {
	for _, s := range []string{"20000001", "+45 20 00 00 01", "+4570102030", "+46701234567", "+0123", "+45２０", " \t\n", "+4512345678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeMobile(in)
		if err != nil {
			if got != "" || err.Error() == "" || !utf8.ValidString(err.Error()) {
				t.Fatalf("refusal %q for %q returned %q", err, in, got)
			}
			return
		}
		if got == "" {
			if strings.TrimSpace(in) != "" && strings.Join(strings.Fields(in), "") != "" {
				t.Fatalf("%q accepted as no number", in)
			}
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("%q became %q, not E.164", in, got)
		}
		if again, err := NormalizeMobile(got); err != nil || again != got {
			t.Fatalf("%q → %q → %q %v", in, got, again, err)
		}
		if national, ok := strings.CutPrefix(got, "+45"); ok {
			if len(national) != 8 || strings.ContainsRune("01", rune(national[0])) || slicesHasPrefix(national, "70", "80", "90") {
				t.Fatalf("%q accepted as the Danish number %q", in, got)
			}
		}
	})
}

func slicesHasPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// FuzzNormalizeEmail: an accepted address is a plain address that net/mail reads back as
// itself, within the length limits, with a dotted domain, printable, and stable when
// normalized again.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"anna@example.dk", "Anna <anna@example.dk>", "anna@localhost", "a@[1.2.3.4]",
		`"a b"@example.dk`, "anna@example.dk (x)", "søren@ærø.dk", "a\x00@b.dk", "=?utf-8?q?x?= <a@b.dk>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeEmail(in)
		if err != nil {
			if got != "" || !utf8.ValidString(err.Error()) {
				t.Fatalf("refusal %q for %q returned %q", err, in, got)
			}
			return
		}
		if got == "" {
			if strings.TrimSpace(in) != "" {
				t.Fatalf("%q accepted as no address", in)
			}
			return
		}
		a, perr := mail.ParseAddress(got)
		at := strings.LastIndexByte(got, '@')
		switch {
		case perr != nil || a.Name != "" || a.Address != got:
			t.Fatalf("%q became %q, which net/mail reads as %+v %v", in, got, a, perr)
		case len(got) > MaxEmailBytes || at < 0 || at > MaxEmailLocalPart:
			t.Fatalf("%q became %q, over the limits", in, got)
		case !strings.Contains(got[at+1:], ".") || !utf8.ValidString(got) || strings.ContainsFunc(got, unicode.IsControl):
			t.Fatalf("%q became %q", in, got)
		}
		if again, err := NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("%q → %q → %q %v", in, got, again, err)
		}
	})
}
