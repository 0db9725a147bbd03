// Package cpr parses Danish CPR numbers (personnummer).
//
// A CPR number is personal data: it belongs in the registry and nowhere else.
// Never put one in a workflow id, a search attribute, an error message or a log line.
package cpr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Number is a validated CPR number in its canonical ten-digit form (no dash).
type Number string

// ErrMalformed is returned for input that is not DDMMYY-SSSS with a real birth date.
var ErrMalformed = errors.New("must be ten digits DDMMYY-SSSS (dash optional) with a valid birth date")

// Parse accepts "DDMMYY-SSSS" or "DDMMYYSSSS". It does not apply the old
// modulus-11 check: numbers issued since 2007 need not satisfy it.
// The error never repeats the input, so it is safe to show or log.
func Parse(s string) (Number, error) {
	s = strings.TrimSpace(s)
	if len(s) == 11 && s[6] == '-' {
		s = s[:6] + s[7:]
	}
	if len(s) != 10 {
		return "", ErrMalformed
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return "", ErrMalformed
		}
	}
	n := Number(s)
	if _, err := n.birthDate(); err != nil {
		return "", ErrMalformed
	}
	return n, nil
}

// BirthDate follows from the number: the seventh digit and the year give the century.
func (n Number) BirthDate() time.Time {
	d, _ := n.birthDate()
	return d
}

func (n Number) birthDate() (time.Time, error) {
	day := atoi2(string(n[0:2]))
	month := atoi2(string(n[2:4]))
	yy := atoi2(string(n[4:6]))
	seventh := int(n[6] - '0')
	year := centuryOf(seventh, yy) + yy
	d := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if d.Day() != day || int(d.Month()) != month {
		return time.Time{}, fmt.Errorf("no such date")
	}
	return d, nil
}

func centuryOf(seventh, yy int) int {
	switch {
	case seventh <= 3:
		return 1900
	case seventh == 4 || seventh == 9:
		if yy <= 36 {
			return 2000
		}
		return 1900
	default: // 5–8
		if yy <= 57 {
			return 2000
		}
		return 1800
	}
}

// FromBirth is the CPR number of someone born on birth (its year, month and day as
// written; pass a Danish date, see internal/domain/calendar) with serial, the last three digits.
// The seventh digit is the one Parse reads back as birth's century: 1 for the 1900s, 4 for
// 2000–2036, 5 for 2037–2057 and for 1858–1899. Other years have no CPR number, and a
// serial outside 0–999 does not fit; both are errors, which never repeat the number.
func FromBirth(birth time.Time, serial int) (Number, error) {
	if serial < 0 || serial > 999 {
		return "", errors.New("cpr: the serial must be 0–999")
	}
	var seventh int
	switch y := birth.Year(); {
	case y >= 1900 && y <= 1999:
		seventh = 1
	case y >= 2000 && y <= 2036:
		seventh = 4
	case y >= 2037 && y <= 2057, y >= 1858 && y <= 1899:
		seventh = 5
	default:
		return "", fmt.Errorf("cpr: no CPR number for someone born in %d (only 1858–2057)", y)
	}
	n := Number(fmt.Sprintf("%02d%02d%02d%d%03d", birth.Day(), int(birth.Month()), birth.Year()%100, seventh, serial))
	if d, err := n.birthDate(); err != nil || d.Year() != birth.Year() { // the rules above and centuryOf disagree
		return "", fmt.Errorf("cpr: the seventh digit %d does not give the year %d", seventh, birth.Year())
	}
	return n, nil
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// AgeOn is the citizen's age in whole years on the given day.
func (n Number) AgeOn(day time.Time) int { return AgeOn(n.BirthDate(), day) }

// AgeOn is the age in whole years of someone born on birth, on the given day.
func AgeOn(birth, day time.Time) int {
	age := day.Year() - birth.Year()
	if day.Month() < birth.Month() || (day.Month() == birth.Month() && day.Day() < birth.Day()) {
		age--
	}
	return age
}

// Masked shows only the birth date part, for screens where an operator must
// tell citizens apart without seeing the full number.
func (n Number) Masked() string { return string(n[:6]) + "-xxxx" }

// String deliberately masks the number so that a careless %v never leaks it.
func (n Number) String() string { return n.Masked() }

// Dashed is the full number as people write it, DDMMYY-SSSS: for whoever may see it (the
// sender a citizen wrote to), never for a log.
func (n Number) Dashed() string { return string(n[:6]) + "-" + string(n[6:]) }

// Digits is the full number, for the registry only.
func (n Number) Digits() string { return string(n) }
