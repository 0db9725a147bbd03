package letters

import (
	"strings"
	"testing"
	"time"

	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/registry"
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

// A citizen whose 15th birthday is today in Copenhagen is 15 from midnight there, not from
// midnight UTC: letters sent between 00:00 and 01:00 (02:00 in summer) used to go on paper.
func TestFifteenthBirthdayStartsAtMidnightInCopenhagen(t *testing.T) {
	for _, c := range []struct {
		birthday time.Time // the citizen's birth date
		utc      time.Time // a moment just after midnight in Copenhagen on the 15th birthday
	}{
		{time.Date(2011, 12, 3, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 23, 30, 0, 0, time.UTC)}, // winter, UTC+1
		{time.Date(2011, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 30, 22, 30, 0, 0, time.UTC)},  // summer, UTC+2
	} {
		child := adult()
		child.BirthDate = c.birthday
		if r := Decide(false, child, calendar.In(c.utc)); r.Channel != Digital {
			t.Errorf("born %s, at %s UTC: routed %s, want digital (15 today in Copenhagen)", c.birthday.Format(time.DateOnly), c.utc.Format(time.DateTime), r.Channel)
		}
		if r := Decide(false, child, calendar.In(c.utc.Add(-time.Hour))); r.Channel != Paper {
			t.Errorf("born %s, an hour before midnight in Copenhagen: routed %s, want paper", c.birthday.Format(time.DateOnly), r.Channel)
		}
	}
}

func TestLifeEventsRoute(t *testing.T) {
	died, left := today.AddDate(0, 0, -3), today.AddDate(0, -2, 0)
	deceased := adult()
	deceased.DiedOn = &died
	if r := Decide(true, deceased, today); !r.Undeliverable() || r.Code != RouteDeceased {
		t.Fatalf("a letter to a deceased citizen routed %+v", r)
	}
	// Emigration does not end digital post (issue 26, item 4): a citizen abroad gets digital
	// letters, address or not; paper goes abroad only when it must, and reaches nobody without
	// a known foreign address.
	abroad := adult()
	abroad.EmigratedOn = &left
	if r := Decide(false, abroad, today); r.Channel != Digital || r.Code != RouteDigital || !r.Abroad || r.NeverLoggedIn {
		t.Fatalf("emigrated, no address, a digital letter: %+v (abroad: no escalation, no paper notice)", r)
	}
	if r := Decide(true, abroad, today); !r.Undeliverable() || r.Code != RouteNoAddress {
		t.Fatalf("emigrated without a known address, a physical-only letter: %+v", r)
	}
	exemptAbroad := abroad
	exemptAbroad.Enrolment = registry.Exempt
	if r := Decide(false, exemptAbroad, today); !r.Undeliverable() || r.Code != RouteNoAddress {
		t.Fatalf("exempt, emigrated, no address: %+v", r)
	}
	abroad.ForeignAddress = "Storgatan 1\nSE-111 22 Stockholm\nSverige"
	if r := Decide(false, abroad, today); r.Channel != Digital {
		t.Fatalf("emigrated with an address, a digital letter: %+v", r)
	}
	exemptAbroad.ForeignAddress = abroad.ForeignAddress
	if r := Decide(false, exemptAbroad, today); r.Channel != Paper || r.Code != RouteExempt || !strings.Contains(r.Reason, "foreign address") {
		t.Fatalf("exempt and emigrated with an address: %+v", r)
	}
	if r := Decide(true, abroad, today); r.Channel != Paper || r.Code != RoutePhysicalOnly {
		t.Fatalf("a physical-only letter abroad: %+v", r)
	}
	// The reason reaches senders; a date of death or emigration is not theirs to learn (issue 23, M2).
	for _, r := range []Route{Decide(false, deceased, today), Decide(true, func() registry.Citizen { c := abroad; c.ForeignAddress = ""; return c }(), today)} {
		if strings.Contains(r.Reason, died.Format(time.DateOnly)) || strings.Contains(r.Reason, left.Format(time.DateOnly)) {
			t.Errorf("reason %q tells a date", r.Reason)
		}
	}
	if got := abroad.PostalAddress(); got != abroad.ForeignAddress {
		t.Fatalf("postal address %q, want the foreign one", got)
	}
	if r := Decide(false, adult(), today); r.Undeliverable() {
		t.Fatal("an ordinary citizen is undeliverable")
	}
}
