// Package calendar is the Danish calendar the rules are written in: "today" and a citizen's
// age are Copenhagen's, deadlines in working days skip weekends and public holidays, and a
// printed letter is dated the Danish way.
package calendar

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Copenhagen on machines without a zoneinfo database
)

// Copenhagen is Danish time: CET in winter, CEST in summer.
var Copenhagen = mustLoad("Europe/Copenhagen")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // embedded by time/tzdata: cannot fail
	}
	return loc
}

// In is t on Copenhagen's clock; its Year, Month and Day are the Danish date.
func In(t time.Time) time.Time { return t.In(Copenhagen) }

// Easter is Easter Sunday of a year in the Gregorian calendar (the anonymous algorithm
// published by Meeus, after Jones and Butcher), as a date at midnight in Copenhagen.
func Easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, Copenhagen)
}

// Holiday is a day the citizen service is closed, with its Danish name.
type Holiday struct {
	Date time.Time
	Name string
}

// Holidays lists a year's days off besides weekends: the public holidays of the Danish
// Holidays Act (helligdagsloven) and the days public offices close by custom (Constitution
// Day, Christmas Eve, New Year's Eve). Store Bededag was abolished from 2024.
func Holidays(year int) []Holiday {
	easter := Easter(year)
	rel := func(days int, name string) Holiday { return Holiday{easter.AddDate(0, 0, days), name} }
	fixed := func(m time.Month, d int, name string) Holiday {
		return Holiday{time.Date(year, m, d, 0, 0, 0, 0, Copenhagen), name}
	}
	hs := []Holiday{
		fixed(time.January, 1, "Nytårsdag"),
		rel(-3, "Skærtorsdag"), rel(-2, "Langfredag"), rel(0, "Påskedag"), rel(1, "2. påskedag"),
	}
	if year <= 2023 {
		hs = append(hs, rel(26, "Store bededag"))
	}
	return append(hs,
		rel(39, "Kristi himmelfartsdag"), rel(49, "Pinsedag"), rel(50, "2. pinsedag"),
		fixed(time.June, 5, "Grundlovsdag"),
		fixed(time.December, 24, "Juleaftensdag"), fixed(time.December, 25, "Juledag"),
		fixed(time.December, 26, "2. juledag"), fixed(time.December, 31, "Nytårsaftensdag"))
}

// HolidayOn names the holiday on t's Danish date, or "" when it is none.
func HolidayOn(t time.Time) string {
	t = In(t)
	for _, h := range Holidays(t.Year()) {
		if h.Date.Month() == t.Month() && h.Date.Day() == t.Day() {
			return h.Name
		}
	}
	return ""
}

// IsWorkingDay tells whether t's Danish date is a weekday that is not a holiday.
func IsWorkingDay(t time.Time) bool {
	t = In(t)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return HolidayOn(t) == ""
}

// AddWorkingDays is t plus n working days, at the same time of day on Copenhagen's clock
// (across a change to or from summer time the wall clock is kept, not the elapsed hours).
func AddWorkingDays(t time.Time, n int) time.Time {
	t = In(t)
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if IsWorkingDay(t) {
			n--
		}
	}
	return t
}

var danishMonths = [...]string{"januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
	"september", "oktober", "november", "december"}

// DanishDate writes t's Danish date as a letter is dated: "3. december 2026".
func DanishDate(t time.Time) string {
	t = In(t)
	return fmt.Sprintf("%d. %s %d", t.Day(), danishMonths[t.Month()-1], t.Year())
}

// ParseWorkingDays reads a count of working days as senders write it, "3wd". ok is false
// when s is not written that way at all (it may be a duration); err says what is wrong with a
// count that is.
func ParseWorkingDays(s string) (n int, ok bool, err error) {
	days, ok := strings.CutSuffix(strings.TrimSpace(s), "wd")
	if !ok {
		return 0, false, nil
	}
	n, err = strconv.Atoi(days)
	if err != nil || n < 1 || n > 60 {
		return 0, true, errors.New("working days must be a whole number from 1 to 60, like 3wd")
	}
	return n, true, nil
}

// WorkingDaysFrom is how long n working days last from now: until the same time of day n
// working days later, in Danish time, in whole seconds.
func WorkingDaysFrom(now time.Time, n int) time.Duration {
	return AddWorkingDays(now, n).Sub(now).Truncate(time.Second)
}

// QuietHours is a nightly window in Danish time in which no citizen is disturbed: from the
// hour From up to the hour Until, across midnight when From > Until ("22-07").
type QuietHours struct{ From, Until int }

// ParseQuietHours reads "22-07"; "" or "none" means no quiet window.
func ParseQuietHours(s string) (QuietHours, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return QuietHours{}, nil
	}
	var q QuietHours
	if _, err := fmt.Sscanf(s, "%d-%d", &q.From, &q.Until); err != nil || q.From < 0 || q.From > 23 || q.Until < 0 || q.Until > 23 {
		return QuietHours{}, fmt.Errorf("must be two hours like 22-07 (from 22:00 to 07:00 Danish time), or none")
	}
	return q, nil
}

// Contains tells whether t falls in the quiet window.
func (q QuietHours) Contains(t time.Time) bool {
	h := In(t).Hour()
	switch {
	case q.From == q.Until:
		return false
	case q.From > q.Until:
		return h >= q.From || h < q.Until
	}
	return h >= q.From && h < q.Until
}

// After moves a time out of the quiet window to the morning it ends (Danish time); a time
// outside it stays as it is.
func (q QuietHours) After(t time.Time) time.Time {
	if !q.Contains(t) {
		return t
	}
	local := In(t)
	end := time.Date(local.Year(), local.Month(), local.Day(), q.Until, 0, 0, 0, Copenhagen)
	if !end.After(local) {
		end = time.Date(local.Year(), local.Month(), local.Day()+1, q.Until, 0, 0, 0, Copenhagen)
	}
	return end
}
