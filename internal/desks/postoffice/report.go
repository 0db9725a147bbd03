package postoffice

import (
	"context"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/letters"
)

// Report is the answer to "where is this letter?": the letter with its notices, print jobs and
// every step of its way. It is the one read model of a letter that the senders' API shows (and
// through it the command line).
type Report struct {
	Letter    letters.Letter
	Notices   []notify.Record
	PrintJobs []print.Record
	Timeline  []events.Event
	Replies   []citizenpost.Message // the citizen's replies to it
}

// SendersLetter is one of a sender's letters; another sender's letter does not exist for it
// (letters.ErrNotFound).
func (p *PostOffice) SendersLetter(ctx context.Context, sender string, id uuid.UUID) (letters.Letter, error) {
	l, err := p.Letters.Get(ctx, id)
	if err != nil {
		return letters.Letter{}, err
	}
	if l.SenderID != sender {
		return letters.Letter{}, letters.ErrNotFound
	}
	return l, nil
}

// ReportFor reports one of a sender's letters.
func (p *PostOffice) ReportFor(ctx context.Context, sender string, id uuid.UUID) (Report, error) {
	l, err := p.SendersLetter(ctx, sender, id)
	if err != nil {
		return Report{}, err
	}
	r := Report{Letter: l}
	if r.Notices, err = p.Notices.ForLetter(ctx, id); err != nil {
		return r, err
	}
	if r.PrintJobs, err = p.PrintJobs.ForLetter(ctx, id); err != nil {
		return r, err
	}
	if r.Timeline, err = p.Events.ForLetter(ctx, id); err != nil {
		return r, err
	}
	r.Replies, err = p.Post.RepliesTo(ctx, id)
	return r, err
}

// Page is a page of a sender's letters, newest first (f.SenderID says whose).
func (p *PostOffice) Page(ctx context.Context, f letters.SenderFilter) (letters.Page, error) {
	return p.Letters.SenderPage(ctx, f)
}

// BatchProgress is one of a sender's batches with its letters counted by status.
func (p *PostOffice) BatchProgress(ctx context.Context, sender string, id uuid.UUID) (letters.Batch, map[letters.Status]int, error) {
	return p.Letters.BatchProgress(ctx, sender, id)
}

// Feed is a sender's events after a place in its feed, oldest first.
func (p *PostOffice) Feed(ctx context.Context, sender string, after events.Cursor, limit int) ([]events.Event, error) {
	return p.Events.After(ctx, sender, after, limit)
}
