package workflows

import (
	"strings"
	"testing"
	"time"
)

func TestLetterSummarySaysThePathInWords(t *testing.T) {
	summary, details := LetterSummary(LetterInput{SenderID: "skat", Deadline: 72 * time.Hour, Reminder: 24 * time.Hour,
		DeliverAt:     time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC),
		AppointmentAt: time.Date(2026, 12, 20, 9, 0, 0, 0, time.UTC), AppointmentReminder: 90 * time.Minute}, false)
	if summary != "Letter from skat (bulk)" {
		t.Errorf("summary %q", summary)
	}
	for _, want := range []string{"within 3 days of delivery", "24 hours before the open deadline",
		"2026-12-08 09:00 CET", "90 minutes before the appointment"} {
		if !strings.Contains(details, want) {
			t.Errorf("details %q do not say %q", details, want)
		}
	}
	if _, details := LetterSummary(LetterInput{SenderID: "skat", DigitalOnly: true}, true); !strings.Contains(details, "never printed") {
		t.Errorf("a digital-only letter's details %q", details)
	}
}
