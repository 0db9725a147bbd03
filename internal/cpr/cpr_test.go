package cpr

import (
	"testing"
	"time"
)

func TestParseAcceptsDashOrNoDash(t *testing.T) {
	for _, in := range []string{"010190-1234", "0101901234", " 010190-1234 "} {
		n, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if n.Digits() != "0101901234" {
			t.Fatalf("Parse(%q) = %s", in, n.Digits())
		}
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	for _, in := range []string{"", "12345", "0101901234x", "01019O1234", "320190-1234", "300290-1234", "01-0190-1234"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted a malformed number", in)
		}
	}
}

func TestModulus11IsNotRequired(t *testing.T) {
	// 010190-1235 fails the old modulus-11 check but is a valid number since 2007.
	if _, err := Parse("010190-1235"); err != nil {
		t.Fatalf("modulus-11 must not be required: %v", err)
	}
}

func TestCenturyFromSeventhDigit(t *testing.T) {
	cases := map[string]int{
		"0101901234": 1990, // 0–3: 1900s
		"0101363234": 1936,
		"0101104234": 2010, // 4: 2000–2036 for YY ≤ 36
		"0101504234": 1950, // 4: else 1900s
		"0101209234": 2020, // 9 like 4
		"0101575234": 2057, // 5–8: 2000–2057 for YY ≤ 57
		"0101808234": 1880, // 5–8: else 1858–1899
	}
	for in, year := range cases {
		n, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%s): %v", in, err)
		}
		if got := n.BirthDate().Year(); got != year {
			t.Errorf("%s: birth year %d, want %d", in, got, year)
		}
	}
}

func TestLeapDayNeedsALeapYear(t *testing.T) {
	if _, err := Parse("290200-4000"); err != nil { // 2000 is a leap year
		t.Fatalf("29 Feb 2000 rejected: %v", err)
	}
	if _, err := Parse("290201-4000"); err == nil {
		t.Fatal("29 Feb 2001 accepted")
	}
}

func TestAgeOnTurnsOnTheBirthday(t *testing.T) {
	n, _ := Parse("150610-4000") // born 15 June 2010
	if age := n.AgeOn(time.Date(2025, 6, 14, 0, 0, 0, 0, time.UTC)); age != 14 {
		t.Fatalf("day before 15th birthday: age %d", age)
	}
	if age := n.AgeOn(time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)); age != 15 {
		t.Fatalf("on 15th birthday: age %d", age)
	}
}

func TestStringNeverShowsTheFullNumber(t *testing.T) {
	n, _ := Parse("010190-1234")
	if s := n.String(); s != "010190-xxxx" {
		t.Fatalf("String() = %q", s)
	}
}
