package calendar

import (
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, Copenhagen) }

func TestEasterSundays(t *testing.T) {
	for year, want := range map[int]time.Time{
		2000: day(2000, time.April, 23), 2019: day(2019, time.April, 21), 2023: day(2023, time.April, 9),
		2024: day(2024, time.March, 31), 2025: day(2025, time.April, 20), 2026: day(2026, time.April, 5),
		2027: day(2027, time.March, 28), 2038: day(2038, time.April, 25),
	} {
		if got := Easter(year); !got.Equal(want) {
			t.Errorf("Easter %d: %s, want %s", year, got.Format(time.DateOnly), want.Format(time.DateOnly))
		}
	}
}

func TestHolidaysFollowEasterAndStoreBededagEndsIn2023(t *testing.T) {
	for _, c := range []struct {
		date time.Time
		name string
	}{
		{day(2026, time.April, 2), "Skærtorsdag"}, {day(2026, time.April, 3), "Langfredag"},
		{day(2026, time.April, 6), "2. påskedag"}, {day(2026, time.May, 14), "Kristi himmelfartsdag"},
		{day(2026, time.May, 25), "2. pinsedag"}, {day(2023, time.May, 5), "Store bededag"},
		{day(2026, time.June, 5), "Grundlovsdag"}, {day(2026, time.December, 24), "Juleaftensdag"},
		{day(2027, time.January, 1), "Nytårsdag"},
	} {
		if got := HolidayOn(c.date); got != c.name {
			t.Errorf("%s: %q, want %q", c.date.Format(time.DateOnly), got, c.name)
		}
	}
	// Store bededag would have been Friday 1 May 2026 (Easter + 26): an ordinary working day now.
	if got := HolidayOn(day(2026, time.May, 1)); got != "" || !IsWorkingDay(day(2026, time.May, 1)) {
		t.Errorf("1 May 2026 is %q; Store bededag was abolished from 2024", got)
	}
}

func TestWorkingDaysSkipWeekendsAndEaster(t *testing.T) {
	// Wednesday 1 April 2026, 10:00: Thursday and Friday are Easter holidays, then the weekend,
	// then Easter Monday; three working days end on Thursday 9 April.
	start := time.Date(2026, time.April, 1, 10, 0, 0, 0, Copenhagen)
	if got, want := AddWorkingDays(start, 3), time.Date(2026, time.April, 9, 10, 0, 0, 0, Copenhagen); !got.Equal(want) {
		t.Fatalf("3 working days from %s: %s, want %s", start, got, want)
	}
	// Friday before Christmas 2026: 24, 25, 26 December and the weekend in between.
	xmas := time.Date(2026, time.December, 23, 9, 0, 0, 0, Copenhagen) // Wednesday
	if got := AddWorkingDays(xmas, 1); got.Day() != 28 {
		t.Fatalf("1 working day from 23 December 2026: %s, want Monday 28", got)
	}
}

func TestWorkingDaysKeepTheWallClockAcrossSummerTime(t *testing.T) {
	// Summer time starts Sunday 29 March 2026: Friday 10:00 + 1 working day is Monday 10:00,
	// 71 hours later, not 72.
	fri := time.Date(2026, time.March, 27, 10, 0, 0, 0, Copenhagen)
	got := AddWorkingDays(fri, 1)
	if got.Hour() != 10 || got.Sub(fri) != 71*time.Hour {
		t.Fatalf("%s, %s later", got, got.Sub(fri))
	}
	if d := WorkingDaysFrom(fri, 1); d != 71*time.Hour {
		t.Fatalf("1 working day from Friday before summer time: %s", d)
	}
}

func TestTodayIsCopenhagensDate(t *testing.T) {
	// 23:30 UTC on 2 December is 00:30 on 3 December in Copenhagen (winter: UTC+1), and
	// 22:30 UTC on 30 June is 00:30 on 1 July (summer: UTC+2).
	if got := In(time.Date(2026, time.December, 2, 23, 30, 0, 0, time.UTC)); got.Day() != 3 {
		t.Fatalf("winter: %s", got)
	}
	if got := In(time.Date(2026, time.June, 30, 22, 30, 0, 0, time.UTC)); got.Month() != time.July || got.Day() != 1 {
		t.Fatalf("summer: %s", got)
	}
	if got := DanishDate(time.Date(2026, time.December, 2, 23, 30, 0, 0, time.UTC)); got != "3. december 2026" {
		t.Fatalf("DanishDate: %q", got)
	}
}

func TestParseWorkingDays(t *testing.T) {
	if n, ok, err := ParseWorkingDays("3wd"); n != 3 || !ok || err != nil {
		t.Fatalf("3wd: %d %t %v", n, ok, err)
	}
	if _, ok, _ := ParseWorkingDays("72h"); ok {
		t.Fatal("72h read as working days")
	}
	for _, in := range []string{"0wd", "wd", "-1wd", "61wd", "1.5wd"} {
		if _, ok, err := ParseWorkingDays(in); !ok || err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	now := time.Date(2026, time.December, 3, 12, 0, 0, 0, Copenhagen) // Thursday: Friday, Monday, Tuesday
	if d := WorkingDaysFrom(now, 3); d != 5*24*time.Hour {
		t.Fatalf("3 working days from Thursday: %s", d)
	}
}

func TestQuietHoursDelayToTheMorning(t *testing.T) {
	q, err := ParseQuietHours("22-07")
	if err != nil {
		t.Fatal(err)
	}
	at := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, Copenhagen) }
	for _, c := range []struct{ in, want time.Time }{
		{at(3, 21, 59), at(3, 21, 59)}, // before the window
		{at(3, 22, 0), at(4, 7, 0)},    // evening: next morning
		{at(4, 3, 30), at(4, 7, 0)},    // night: this morning
		{at(4, 7, 0), at(4, 7, 0)},     // the window has ended
	} {
		if got := q.After(c.in); !got.Equal(c.want) {
			t.Errorf("%s: %s, want %s", c.in, got, c.want)
		}
	}
	if _, err := ParseQuietHours("late"); err == nil {
		t.Fatal("a window that does not parse was accepted")
	}
	if none, _ := ParseQuietHours("none"); none.Contains(at(4, 3, 0)) {
		t.Fatal("no window still holds a time back")
	}
}
