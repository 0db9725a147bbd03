package cpr

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: whatever is typed, Parse either refuses it with ErrMalformed itself (so the
// error cannot carry the input, which is personal data), or returns ten digits that parse to
// the same number written with and without the dash, whose first six digits are the birth
// date, in the century the seventh digit and the year give.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"010180-1234", "0101801234", " 010180-1234\n", "290200-4000", "290201-4000",
		"311299-5000", "010158-5000", "010136-9000", "010137-4000", "000000-0000", "010180+1234", "01018O-1234", "０１０１８０１２３４"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := Parse(in)
		if err != nil {
			if err != ErrMalformed || n != "" {
				t.Fatalf("%q: %q, %v; want ErrMalformed itself", in, n, err)
			}
			return
		}
		digits := n.Digits()
		if len(digits) != 10 || strings.Trim(digits, "0123456789") != "" {
			t.Fatalf("%q parsed to %q, not ten digits", in, digits)
		}
		for _, form := range []string{digits, digits[:6] + "-" + digits[6:]} {
			if again, err := Parse(form); err != nil || again != n {
				t.Fatalf("%q parsed to %q, but %q parses to %q %v", in, n, form, again, err)
			}
		}
		birth := n.BirthDate()
		if birth.IsZero() || birth.Format("020106") != digits[:6] {
			t.Fatalf("%q: birth date %v does not match %s", in, birth, digits[:6])
		}
		if want := century(int(digits[6]-'0'), birth.Year()%100); birth.Year()-birth.Year()%100 != want {
			t.Fatalf("%q: born %d, want the %ds for seventh digit %c", in, birth.Year(), want, digits[6])
		}
		if n.String() != digits[:6]+"-xxxx" { // a careless %v shows no more than the birth date
			t.Fatalf("%q: String() shows %q", in, n.String())
		}
	})
}

// century is the rule as the design states it, written out once more for the fuzz target.
func century(seventh, yy int) int {
	switch {
	case seventh <= 3:
		return 1900
	case seventh == 4 || seventh == 9:
		if yy <= 36 {
			return 2000
		}
		return 1900
	case yy <= 57:
		return 2000
	default:
		return 1800
	}
}

func TestParseRefusesWithoutRepeatingTheInput(t *testing.T) {
	_, err := Parse("010180-12345")
	if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "010180") {
		t.Fatalf("%v", err)
	}
}
