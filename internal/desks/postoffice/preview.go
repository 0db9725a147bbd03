package postoffice

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
)

// Preview is what a run would do, worked out without writing anything: how many letters go
// digital and how many to paper at once (and why), how many digital ones reach a citizen
// with no notice channel, how many are expected to end on paper after their deadline, and
// the postage that implies.
type Preview struct {
	Letters         int
	Digital         int
	PaperNow        int
	PaperReasons    map[string]int // letters.Route… code → letters
	NoNoticeChannel int            // digital letters to citizens with neither e-mail nor mobile
	// Escalation estimate: digital letters × (1 − OpenedShare), OpenedShare being this
	// sender's observed share of digital letters opened before their deadline, or the default.
	OpenedShare         float64
	OpenedShareBasis    string // "observed over N letters" or "default (…)"
	ExpectedEscalations int
	Postage             []Postage // per postal category, for PaperNow + ExpectedEscalations letters
}

// Postage is the cost of a run's paper at one category's price.
type Postage struct {
	Category      string
	PerLetterOre  int64
	PaperLetters  int
	TotalOre      int64
	TotalReadable string // "1.234,50 kr."
}

// PostagePrices are prices per letter by postal category, in øre.
type PostagePrices map[string]int64

// ParsePostagePrices reads "economy=1450,priority=2900" (POSTAGE_PRICES).
func ParsePostagePrices(s string) (PostagePrices, error) {
	out := PostagePrices{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		ore, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if !ok || strings.TrimSpace(k) == "" || err != nil || ore < 0 {
			return nil, fmt.Errorf("POSTAGE_PRICES: %q is not category=øre (like economy=1450)", part)
		}
		out[strings.TrimSpace(k)] = ore
	}
	return out, nil
}

// MinObservedLetters is how many of a sender's digital letters must have ended (opened or
// escalated) before its own opened share is used instead of the default.
const MinObservedLetters = 100

// PreviewBulk validates a run exactly as SubmitBulk does and, when it would be accepted,
// answers what it would do. Nothing is written and nothing is started.
func (p *PostOffice) PreviewBulk(ctx context.Context, subs []Submission, prices PostagePrices, defaultOpened float64) (Preview, error) {
	all, _, look, err := p.checkRun(ctx, subs)
	if err != nil {
		return Preview{}, err
	}
	pv := Preview{Letters: len(all), PaperReasons: map[string]int{}}
	today := calendar.In(time.Now())
	for i, l := range all {
		n, _ := cpr.Parse(subs[i].RecipientCPR) // validated by checkRun
		r := letters.Decide(l.PhysicalOnly, look.citizens[n], today)
		if r.Channel == letters.Paper {
			pv.PaperNow++
			pv.PaperReasons[r.Code]++
			continue
		}
		pv.Digital++
		if !r.NotifySMS && !r.NotifyEmail {
			pv.NoNoticeChannel++
		}
	}
	sender := strings.TrimSpace(subs[0].SenderID)
	pv.OpenedShare, pv.OpenedShareBasis, err = p.openedShare(ctx, sender, defaultOpened)
	if err != nil {
		return Preview{}, err
	}
	pv.ExpectedEscalations = int(math.Round(float64(pv.Digital) * (1 - pv.OpenedShare)))
	paper := pv.PaperNow + pv.ExpectedEscalations
	categories := make([]string, 0, len(prices))
	for c := range prices {
		categories = append(categories, c)
	}
	sort.Strings(categories)
	for _, c := range categories {
		total := prices[c] * int64(paper)
		pv.Postage = append(pv.Postage, Postage{Category: c, PerLetterOre: prices[c], PaperLetters: paper,
			TotalOre: total, TotalReadable: kroner(total)})
	}
	return pv, nil
}

// openedShare is the share of a sender's ended digital letters that were opened, not
// escalated, once there are enough of them to tell.
func (p *PostOffice) openedShare(ctx context.Context, sender string, fallback float64) (float64, string, error) {
	opened, escalated, err := p.Letters.OpenedAndEscalated(ctx, sender)
	if err != nil {
		return 0, "", err
	}
	if ended := opened + escalated; ended >= MinObservedLetters {
		return float64(opened) / float64(ended), fmt.Sprintf("observed over this sender's %d ended digital letters", ended), nil
	}
	return fallback, fmt.Sprintf("default (PREVIEW_DEFAULT_OPENED_SHARE; this sender has %d ended digital letters, fewer than %d)",
		opened+escalated, MinObservedLetters), nil
}

// kroner writes øre the Danish way: 123456 → "1.234,56 kr."
func kroner(ore int64) string {
	kr, rest := ore/100, ore%100
	digits := strconv.FormatInt(kr, 10)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(d)
	}
	return fmt.Sprintf("%s,%02d kr.", b.String(), rest)
}

// RecipientRoute answers which channel a letter to this citizen would take now, and why:
// the mailbox look-up senders make before they send.
func (p *PostOffice) RecipientRoute(ctx context.Context, number string, physicalOnly bool) (letters.Route, error) {
	n, err := cpr.Parse(number)
	if err != nil {
		return letters.Route{}, &fielderr.Error{Field: "recipient_cpr", Rule: "CPR number " + err.Error()}
	}
	c, err := p.Registry.CitizenByCPR(ctx, n)
	if errors.Is(err, registry.ErrNotFound) {
		return letters.Route{}, ErrRecipientNotFound
	}
	if err != nil {
		return letters.Route{}, err
	}
	return letters.Decide(physicalOnly, c, calendar.In(time.Now())), nil
}

// ErrRecipientNotFound is a CPR number not in the registry.
var ErrRecipientNotFound = errors.New("recipient is not in the registry")

// RefusedForRecipient tells whether err refuses a submission for who its recipient is: not in
// the registry, beyond every channel, on paper for a digital-only letter, not signed up for
// NemSMS. Such an answer tells the sender something about a citizen, so the API counts and
// records it as it does a look-up. A malformed number tells nothing.
func RefusedForRecipient(err error) bool {
	list, _ := fielderr.Rules(err)
	for _, e := range list {
		field := e.Field
		if _, f, ok := strings.Cut(field, ": "); ok && (strings.HasPrefix(field, "letter ") || strings.HasPrefix(field, "line ")) {
			field = f // a run's "letter 7: to"
		}
		switch {
		case field == "to" && !strings.HasPrefix(e.Rule, "CPR number "):
			return true
		case field == "digital-only" && strings.HasPrefix(e.Rule, "the recipient cannot receive digital post"):
			return true
		}
	}
	return false
}
