package testenv

import (
	"fmt"
	"time"

	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/cpr"
)

// CPRAged is a CPR number ("DDMMYY-SSSS") of someone who is years old today in Danish time,
// and stays so for months: test data that does not age. A fixed number for "a child"
// (060615-4678) turned 15 on a known day and failed the tests that relied on it; this one is
// born half a year after the birthday that made them years old. serial (0–999) tells apart
// several people of one age.
func CPRAged(years, serial int) string { return CPRAgedOn(calendar.In(time.Now()), years, serial) }

// CPRAgedOn is CPRAged for another day than today (the day is read on Copenhagen's clock).
// It panics on an age the CPR scheme cannot write (born before 1858 or after 2057) or a
// serial out of range: a mistake in the test, not in the code under test.
func CPRAgedOn(day time.Time, years, serial int) string {
	if serial < 0 || serial > 999 || years < 0 {
		panic(fmt.Sprintf("testenv.CPRAgedOn: age %d, serial %d", years, serial))
	}
	day = calendar.In(day)
	today := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	// Half a year younger than the birthday that made them years old: the birthday itself,
	// and the next one, are months away whichever day the test runs.
	birth := today.AddDate(-years, -6, 0)
	n, err := cpr.FromBirth(birth, serial)
	if err != nil {
		panic(fmt.Sprintf("testenv.CPRAgedOn: %v", err))
	}
	d := n.Digits()
	s := d[:6] + "-" + d[6:] // as tests write them
	if !n.BirthDate().Equal(birth) || n.AgeOn(day) != years {
		panic(fmt.Sprintf("testenv.CPRAgedOn: %s is not %d years old on %s", s, years, day.Format(time.DateOnly)))
	}
	return s
}
