package letters

import (
	"testing"
	"time"

	"digitalpost/internal/registry"
)

var today = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func adult() registry.Citizen {
	login := today.Add(-24 * time.Hour)
	return registry.Citizen{BirthDate: time.Date(1980, 5, 1, 0, 0, 0, 0, time.UTC), Enrolment: registry.Enrolled, LastLoginAt: &login}
}

func TestEnrolledAdultGetsDigital(t *testing.T) {
	if r := Decide(false, adult(), today); r.Channel != Digital || r.NeverLoggedIn {
		t.Fatalf("route %+v", r)
	}
}

func TestUnder15GetsPaper(t *testing.T) {
	c := adult()
	c.BirthDate = today.AddDate(-15, 0, 1) // turns 15 tomorrow
	if r := Decide(false, c, today); r.Channel != Paper {
		t.Fatalf("a 14-year-old was routed %s", r.Channel)
	}
	c.BirthDate = today.AddDate(-15, 0, 0) // 15 today
	if r := Decide(false, c, today); r.Channel != Digital {
		t.Fatalf("a 15-year-old was routed %s", r.Channel)
	}
}

func TestExemptGetsPaper(t *testing.T) {
	c := adult()
	c.Enrolment = registry.Exempt
	if r := Decide(false, c, today); r.Channel != Paper || r.Reason != "recipient is exempt from Digital Post" {
		t.Fatalf("route %+v", r)
	}
}

func TestPhysicalOnlyGoesToPaperRegardless(t *testing.T) {
	if r := Decide(true, adult(), today); r.Channel != Paper {
		t.Fatalf("route %+v", r)
	}
}

func TestNoticesFollowRegisteredContacts(t *testing.T) {
	c := adult()
	if r := Decide(false, c, today); r.NotifySMS || r.NotifyEmail {
		t.Fatalf("no contact details but notices planned: %+v", r)
	}
	c.Mobile = "+4512345678"
	if r := Decide(false, c, today); !r.NotifySMS || r.NotifyEmail {
		t.Fatalf("mobile only: %+v", r)
	}
	c.Email = "a@example.dk"
	if r := Decide(false, c, today); !r.NotifySMS || !r.NotifyEmail {
		t.Fatalf("both: %+v", r)
	}
}

func TestNeverLoggedInIsFlagged(t *testing.T) {
	c := adult()
	c.LastLoginAt = nil
	if r := Decide(false, c, today); !r.NeverLoggedIn {
		t.Fatalf("route %+v", r)
	}
}
