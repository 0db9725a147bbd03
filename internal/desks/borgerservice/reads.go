package borgerservice

import (
	"context"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
)

// What the desk shows caseworkers and citizens: the registry's citizens, the case queue,
// who reads whose mailbox and the NemSMS subscription. The pages and the command line ask
// the desk, never the stores behind it.

// CitizenByID is a citizen as the registry has them (registry.ErrNotFound: none).
func (d *Desk) CitizenByID(ctx context.Context, id uuid.UUID) (registry.Citizen, error) {
	return d.Registry.Citizen(ctx, id)
}

// RecordSignIn notes that the citizen signed in to the mailbox: that is logging in to it (the
// law's "has logged in"), whether or not they open a letter, so no paper notice that digital
// post is waiting goes to them after it.
func (d *Desk) RecordSignIn(ctx context.Context, citizen uuid.UUID) error {
	return d.Registry.RecordLogin(ctx, citizen, time.Now())
}

// CitizenByCPR finds a citizen by CPR number (registry.ErrNotFound: none).
func (d *Desk) CitizenByCPR(ctx context.Context, n cpr.Number) (registry.Citizen, error) {
	return d.Registry.CitizenByCPR(ctx, n)
}

// FirstCitizens are the registry's first n citizens, for the development sign-in's list.
func (d *Desk) FirstCitizens(ctx context.Context, n int) ([]registry.Citizen, error) {
	return d.Registry.FirstCitizens(ctx, n)
}

// ListCases lists exemption cases as the filter asks.
func (d *Desk) ListCases(ctx context.Context, f exemption.Filter) ([]exemption.Case, error) {
	return d.Cases.List(ctx, f)
}

// QueuedCase is an open case as the caseworkers' queue shows it: with the citizen's name.
type QueuedCase struct {
	exemption.Case
	CitizenName string // empty when the citizen has left the registry since
}

// Queue is the open cases, overdue first, then oldest.
func (d *Desk) Queue(ctx context.Context) ([]QueuedCase, error) {
	cases, err := d.Cases.List(ctx, exemption.Filter{OpenOnly: true, OverdueFirst: true})
	if err != nil {
		return nil, err
	}
	queue := make([]QueuedCase, 0, len(cases))
	for _, c := range cases {
		q := QueuedCase{Case: c}
		if citizen, err := d.Registry.Citizen(ctx, c.CitizenID); err == nil {
			q.CitizenName = citizen.Name
		}
		queue = append(queue, q)
	}
	return queue, nil
}

// PowerOfAttorney is the document a representative brought to a case (exemption.ErrNotFound:
// no such case; empty content: the citizen came in person).
func (d *Desk) PowerOfAttorney(ctx context.Context, id uuid.UUID) (filename string, content []byte, err error) {
	return d.Cases.PowerOfAttorney(ctx, id)
}

// Sharing is who reads a citizen's mailbox and whose the citizen reads.
type Sharing struct {
	SharedWith []access.Party // mailboxes the citizen may read
	Pending    []access.Party // requests waiting for the citizen's answer
	Readers    []access.Party // who may read the citizen's mailbox
}

// SharingOf is a citizen's reading access, both ways.
func (d *Desk) SharingOf(ctx context.Context, citizen uuid.UUID) (Sharing, error) {
	var s Sharing
	var err error
	if s.SharedWith, err = d.Access.SharedWith(ctx, citizen); err != nil {
		return s, err
	}
	if s.Pending, err = d.Access.PendingFor(ctx, citizen); err != nil {
		return s, err
	}
	s.Readers, err = d.Access.GrantedBy(ctx, citizen)
	return s, err
}

// NemSMSTerms are the terms a citizen accepts to subscribe to NemSMS.
func (d *Desk) NemSMSTerms() string { return d.NemSMS.Terms }

// NemSMSSubscription is a citizen's NemSMS subscription (nemsms.ErrNotSubscribed: none).
func (d *Desk) NemSMSSubscription(ctx context.Context, citizen uuid.UUID) (nemsms.Subscription, error) {
	return d.NemSMS.SubscriptionOf(ctx, citizen)
}
