package letters

import (
	"time"

	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/registry"
)

// Route is the routing decision for one letter to one citizen.
type Route struct {
	// Channel is empty when the letter can reach the recipient by no channel at all
	// (Undeliverable).
	Channel Channel
	Reason  string // why, in words an operator understands
	Code    string // why, for programs: one of the Route… codes
	// Notices: one per contact channel the citizen registered (rule 4).
	NotifySMS   bool
	NotifyEmail bool
	// NeverLoggedIn: the citizen has never used the mailbox, so their first digital letter
	// comes with a paper notice that digital post is waiting (rule 5).
	NeverLoggedIn bool
	// Abroad: a digital letter to a citizen registered as emigrated. Paper goes abroad only to
	// the exempt and for physical-only letters, so an unopened letter is not escalated to paper
	// and no paper notice goes abroad: the letter has arrived in the mailbox (legal delivery).
	Abroad bool `json:",omitempty"`
}

// Why a letter takes its channel, as the senders' API reports it.
const (
	RouteDigital      = "digital"
	RoutePhysicalOnly = "physical_only"
	RouteUnder15      = "under_15"
	RouteExempt       = "exempt"
	// RouteEmigrated was paper to a citizen living abroad; since emigration no longer ends
	// digital post it is no longer decided, and stays only for the answers recorded with it.
	RouteEmigrated = "emigrated"
	RouteDeceased  = "deceased"   // undeliverable
	RouteNoAddress = "no_address" // emigrated, foreign address unknown: undeliverable
)

// Undeliverable tells whether the letter can reach the recipient at all; a letter that
// cannot is refused at submission and fails, unprinted, when it was already under way.
func (r Route) Undeliverable() bool { return r.Channel == "" }

// DigitalAge is the age from which a citizen receives letters digitally.
const DigitalAge = registry.DigitalAge

// Decide routes a letter by the rules of the brief: nothing reaches a deceased citizen;
// physical-only letters, citizens under 15 and exempt citizens get paper; everyone else gets
// the digital mailbox. Emigration does not end digital post (Lov om Digital Post): a citizen
// living abroad keeps their mailbox and gets digital letters like anyone else; paper to them
// goes to the foreign address, and with none known a letter that must go on paper reaches
// nobody.
func Decide(physicalOnly bool, c registry.Citizen, today time.Time) Route {
	var paper Route
	switch {
	case c.Deceased():
		// No dates: the reason reaches senders (422 answers, look-ups, a letter's failure),
		// and a date of death or emigration is more of the registry than a sender needs.
		return Route{Code: RouteDeceased, Reason: "recipient has died"}
	case physicalOnly:
		paper = Route{Channel: Paper, Code: RoutePhysicalOnly, Reason: "letter is physical-only"}
	case cpr.AgeOn(c.BirthDate, today) < DigitalAge:
		paper = Route{Channel: Paper, Code: RouteUnder15, Reason: "recipient is under 15"}
	case c.Enrolment == registry.Exempt:
		paper = Route{Channel: Paper, Code: RouteExempt, Reason: "recipient is exempt from Digital Post"}
	default:
		return Route{
			Channel:       Digital,
			Code:          RouteDigital,
			Reason:        "recipient uses Digital Post",
			NotifySMS:     c.Mobile != "",
			NotifyEmail:   c.Email != "",
			NeverLoggedIn: !c.HasLoggedIn() && !c.Emigrated(),
			Abroad:        c.Emigrated(),
		}
	}
	switch {
	case c.Emigrated() && c.ForeignAddress == "":
		return Route{Code: RouteNoAddress, Reason: "recipient has emigrated and no foreign address is known, and the letter must go on paper (" + paper.Reason + ")"}
	case c.Emigrated():
		paper.Reason += "; paper to the foreign address"
	}
	return paper
}
