package testenv

import (
	"testing"
	"time"

	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/cpr"
)

// The number is of someone the asked age on the day, whatever the day: the day 060615-4678
// turned 15, leap days, New Year's Eve in Copenhagen (still the old year there while UTC has
// moved on, and the other way round), and every century the seventh digit must tell.
func TestCPRAgedIsTheAgeAskedOnAnyDay(t *testing.T) {
	days := []time.Time{
		time.Date(2030, 6, 6, 12, 0, 0, 0, calendar.Copenhagen),
		time.Date(2028, 2, 29, 12, 0, 0, 0, calendar.Copenhagen),
		time.Date(2027, 8, 31, 12, 0, 0, 0, calendar.Copenhagen),
		time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC),         // 1 January 2026 in Copenhagen
		time.Date(2026, 1, 1, 0, 30, 0, 0, calendar.Copenhagen), // still 31 December in UTC
		time.Now(),
	}
	for d := range 400 {
		days = append(days, time.Date(2026, 1, 1, 12, 0, 0, 0, calendar.Copenhagen).AddDate(0, 0, d))
	}
	for _, day := range days {
		for _, years := range []int{0, 10, 14, 15, 16, 18, 45, 80, 101, 130} {
			s := CPRAgedOn(day, years, 7)
			n, err := cpr.Parse(s)
			if err != nil {
				t.Fatalf("%s, age %d: %s does not parse: %v", day, years, s, err)
			}
			local := calendar.In(day)
			if got := n.AgeOn(local); got != years {
				t.Fatalf("%s, age %d: %s is %d", local.Format(time.DateOnly), years, s, got)
			}
			// …and still is a month later: a test that runs over midnight does not age it.
			if got := n.AgeOn(local.AddDate(0, 1, 0)); got != years {
				t.Fatalf("%s, age %d: %s is %d a month later", local.Format(time.DateOnly), years, s, got)
			}
		}
	}
	if a, b := CPRAged(10, 1), CPRAged(10, 2); a == b {
		t.Fatalf("two serials, one number %s", a)
	}
}
