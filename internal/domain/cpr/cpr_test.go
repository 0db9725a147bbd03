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

func TestFromBirthIsReadBackAsTheSameBirthDate(t *testing.T) {
	// The first and last day of each century the seventh digit can say, and a leap day.
	for _, birth := range []time.Time{
		date(1858, 1, 1), date(1899, 12, 31), date(1900, 1, 1), date(1999, 12, 31),
		date(2000, 1, 1), date(2020, 2, 29), date(2036, 12, 31), date(2037, 1, 1), date(2057, 12, 31),
	} {
		n, err := FromBirth(birth, 678)
		if err != nil {
			t.Fatalf("born %s: %v", birth.Format(time.DateOnly), err)
		}
		parsed, err := Parse(n.Digits())
		if err != nil {
			t.Fatalf("born %s: %s does not parse: %v", birth.Format(time.DateOnly), n.Digits(), err)
		}
		if !parsed.BirthDate().Equal(birth) {
			t.Errorf("born %s: %s reads back as born %s", birth.Format(time.DateOnly), n.Digits(), parsed.BirthDate().Format(time.DateOnly))
		}
		if got := n.Digits()[7:]; got != "678" {
			t.Errorf("born %s: %s ends in %s, want the serial 678", birth.Format(time.DateOnly), n.Digits(), got)
		}
	}
}

func TestFromBirthWritesTheDigitsInOrder(t *testing.T) {
	n, err := FromBirth(date(2016, 6, 5), 7)
	if err != nil || n.Digits() != "0506164007" {
		t.Fatalf("born 5 June 2016, serial 7: %q, %v; want 0506164007", n.Digits(), err)
	}
}

func TestFromBirthReadsTheDateAsWrittenInItsZone(t *testing.T) {
	// Just after midnight in Copenhagen is still the day before in UTC: the Danish date counts.
	cph := time.FixedZone("CET", 3600)
	n, err := FromBirth(time.Date(2016, 1, 1, 0, 30, 0, 0, cph), 1)
	if err != nil || n.Digits()[:6] != "010116" {
		t.Fatalf("%q, %v; want born 010116", n.Digits(), err)
	}
}

func TestFromBirthRefusesWhatNoCPRNumberCanSay(t *testing.T) {
	for _, c := range []struct {
		birth  time.Time
		serial int
	}{{date(1857, 12, 31), 1}, {date(2058, 1, 1), 1}, {date(2016, 1, 1), -1}, {date(2016, 1, 1), 1000}} {
		if n, err := FromBirth(c.birth, c.serial); err == nil {
			t.Errorf("born %s, serial %d: got %s, want an error", c.birth.Format(time.DateOnly), c.serial, n.Digits())
		}
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
