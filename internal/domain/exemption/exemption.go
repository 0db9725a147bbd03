// Package exemption is the municipal citizen service's exemption case: grounds, who
// appeared, the proxy check, the decision, and the case rows in PostgreSQL.
package exemption

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Ground is a reason a citizen may be exempted (rule 11), as the rules on exemption list them.
// The municipality assesses; it cannot demand documentation, and the citizen need not name a
// ground to apply: the caseworker records the ground with the decision.
type Ground string

var grounds = map[Ground]string{
	"disability":            "physical or cognitive impairment",
	"no-computer":           "no computer with internet access at home",
	"emigrated":             "registered as emigrated",
	"no-fixed-address":      "no fixed address",
	"language-difficulties": "language difficulties",
	"no-mitid":              "practical difficulties obtaining MitID",
	"no-broadband":          "no broadband of at least 512 kbit/s where they live",
}

// retired are grounds cases were once decided on that are no exemption grounds: lacking digital
// skills and being socially vulnerable are grounds for an alternative to digital self-service,
// not for exemption from Digital Post. Old cases still name them; no new one may.
var retired = map[Ground]string{
	"lacking-digital-skills": "lacking digital skills (a ground for an alternative to digital self-service, not for exemption)",
	"socially-vulnerable":    "socially vulnerable (a ground for an alternative to digital self-service, not for exemption)",
}

// Emigrated is the ground of a citizen registered as living abroad.
const Emigrated Ground = "emigrated"

// OnlyEmigration tells whether a case's only ground is emigration: such an exemption ends when
// the citizen moves back.
func (c Case) OnlyEmigration() bool { return len(c.Grounds) == 1 && c.Grounds[0] == Emigrated }

// Grounds lists the accepted grounds, sorted.
func Grounds() []Ground {
	out := make([]Ground, 0, len(grounds))
	for g := range grounds {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ParseGround accepts one of Grounds.
func ParseGround(s string) (Ground, error) {
	g := Ground(strings.TrimSpace(s))
	if _, ok := grounds[g]; !ok {
		names := make([]string, 0, len(grounds))
		for _, g := range Grounds() {
			names = append(names, string(g))
		}
		if _, old := retired[g]; old {
			return "", fmt.Errorf("%q is a ground for an alternative to digital self-service, not for exemption from Digital Post; use one of %s", s, strings.Join(names, ", "))
		}
		return "", fmt.Errorf("%q is not a ground; use one of %s", s, strings.Join(names, ", "))
	}
	return g, nil
}

// Describe says a ground in words.
func (g Ground) Describe() string {
	if d, ok := grounds[g]; ok {
		return d
	}
	return retired[g]
}

// Status is where a case stands.
type Status string

const (
	AwaitingProxy    Status = "awaiting_proxy_verification" // a representative appeared: verify the power of attorney first
	AwaitingDecision Status = "awaiting_decision"
	Approved         Status = "approved"
	Rejected         Status = "rejected"
)

// Closed tells whether the case is decided.
func (s Status) Closed() bool { return s == Approved || s == Rejected }

// Case is an exemption application.
type Case struct {
	ID                 uuid.UUID
	CitizenID          uuid.UUID
	MunicipalityID     string
	Grounds            []Ground
	RepresentativeName string
	RepresentativeID   *uuid.UUID // the representative in the registry; their CPR number stays there
	POAFilename        string
	POADocument        []byte
	Status             Status
	Overdue            bool
	Reason             string
	Caseworker         string
	ServiceDeadline    time.Time
	DecisionLetterID   *uuid.UUID
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// HasRepresentative tells whether someone appeared on the citizen's behalf.
func (c Case) HasRepresentative() bool { return c.RepresentativeName != "" }

// WorkflowID is the case's workflow id; it carries no personal data.
func WorkflowID(id uuid.UUID) string { return "exemption-" + id.String() }
