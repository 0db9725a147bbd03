// Package recovery starts what was stored but never started. Letters, exemption cases,
// reading access requests and NemSMS messages follow one pattern: the row is stored first, its workflow is
// started idempotently (the workflow id comes from the row's id), and the start is
// confirmed in PostgreSQL. A row left unconfirmed (its submitter died in between, or
// Temporal was unreachable) is started here, by one sweep for the whole system.
package recovery

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"digitalpost/activities"
	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/letters"
)

// Sweep holds the stores to look in and the desks that start workflows.
type Sweep struct {
	Letters    *letters.Store
	Cases      *exemption.Store
	Access     *access.Store
	PostOffice *postoffice.PostOffice
	Desk       *borgerservice.Desk
	// Grace is how long a row may stay unconfirmed before the sweep starts it: a normal
	// submission confirms within milliseconds, a letter's workflow when it first runs.
	Grace time.Duration
	// Webhooks and Events, when set: every webhook's delivery workflow is kept running
	// (one set while Temporal was down, or terminated by an operator, starts again), and
	// events past their retention are deleted.
	Webhooks *webhooks.Hooks
	Events   *events.Feed
}

// page is how many rows the sweep reads at a time.
const page = 500

// maxFailuresReported bounds the failures listed in a report.
const maxFailuresReported = 20

// Sweep starts every row left unconfirmed for longer than Grace and reports what it did.
// progress is called after each page, so a long sweep can heartbeat.
func (s *Sweep) Sweep(ctx context.Context, progress func(activities.SweepReport)) (activities.SweepReport, error) {
	var r activities.SweepReport
	before := time.Now().Add(-s.Grace)
	fail := func(what string, id uuid.UUID, err error) {
		r.Failed++
		if len(r.Failures) < maxFailuresReported {
			r.Failures = append(r.Failures, fmt.Sprintf("%s %s: %v", what, id, err))
		}
	}

	var afterCreated time.Time
	afterID := uuid.Nil
	for {
		ls, err := s.Letters.Unstarted(ctx, before, afterCreated, afterID, page)
		if err != nil {
			return r, err
		}
		for _, l := range ls {
			r.Letters++
			if err := s.PostOffice.Resume(ctx, l); err != nil {
				fail("letter", l.ID, err)
			}
			afterCreated, afterID = l.CreatedAt, l.ID
		}
		progress(r)
		if len(ls) < page {
			break
		}
	}

	// Cases and requests are few; a failed one stays unconfirmed and is tried next time.
	cases, err := s.Cases.Unstarted(ctx, before, page)
	if err != nil {
		return r, err
	}
	for _, c := range cases {
		r.Cases++
		if err := s.Desk.StartCase(ctx, c); err != nil {
			fail("case", c.ID, err)
		}
	}
	grants, err := s.Access.Unstarted(ctx, before, page)
	if err != nil {
		return r, err
	}
	for _, g := range grants {
		r.ReadingAccess++
		if err := s.Desk.StartReadingAccess(ctx, g); err != nil {
			fail("reading access request", g.ID, err)
		}
	}
	if s.PostOffice.NemSMS != nil {
		messages, err := s.PostOffice.NemSMS.Unstarted(ctx, before, page)
		if err != nil {
			return r, err
		}
		for _, m := range messages {
			r.NemSMS++
			if err := s.PostOffice.StartNemSMS(ctx, m); err != nil {
				fail("NemSMS message", m.ID, err)
			}
		}
	}
	if s.Webhooks != nil {
		senders, err := s.Webhooks.Senders(ctx)
		if err != nil {
			return r, err
		}
		for _, sender := range senders {
			if err := s.PostOffice.StartWebhookDelivery(ctx, sender); err != nil {
				r.Failed++
				if len(r.Failures) < maxFailuresReported {
					r.Failures = append(r.Failures, err.Error())
				}
			}
		}
	}
	if s.Events != nil {
		if _, err := s.Events.Expire(ctx, time.Now()); err != nil {
			return r, err
		}
	}
	progress(r)
	return r, nil
}
