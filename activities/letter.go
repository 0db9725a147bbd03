package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
)

// Delivery is the route a letter took, decided once from the registry.
type Delivery struct {
	Route letters.Route
	// SendWaitingNotice: this letter carries the one paper notice that digital post is waiting.
	SendWaitingNotice bool
	// Notices: the outcome of each new-post notice's first try, made with the delivery
	// (DeliverAndNotify). A channel missing here was not settled and goes to its provider's queue.
	Notices map[notify.Channel]NoticeOutcome `json:",omitempty"`
	// DeliveredAt: when the letter reached the mailbox (DeliverAndNotify), where its deadline
	// and reminder count from; zero for letters delivered by Deliver.
	DeliveredAt time.Time `json:",omitempty"`
}

// Deliver routes a letter by its recipient as the registry knows them now and, on the
// digital route, puts it in their mailbox. A paper route only confirms that the letter's
// workflow runs: printing follows.
// Routing and delivery are one step because each is a short PostgreSQL write and every
// step costs the letter a history event.
func (a *Activities) Deliver(ctx context.Context, letterID uuid.UUID) (Delivery, error) {
	d, _, err := a.deliver(ctx, letterID)
	return d, err
}

// DeliverAndNotify is Deliver followed, on the digital route, by the first try of each
// new-post notice, both channels at once (notify.Service.SendFirstTry). One local activity instead
// of three saves the letter two history events, and the letter, its recipient and its sender
// are read once for both. A notice the first try does not settle is missing from Notices: the
// workflow sends it through its provider's queue, as before. A retry after a crash delivers
// nothing twice (the mailbox and the status are idempotent) and sends nothing twice (the
// notices' claims).
//
// Only the first attempt tries the notices: an attempt retried after a database outage may
// find the letter withdrawn meanwhile, which the workflow decides before it sends any notice.
func (a *Activities) DeliverAndNotify(ctx context.Context, letterID uuid.UUID) (Delivery, error) {
	d, l, err := a.deliver(ctx, letterID)
	if err != nil || d.Route.Channel != letters.Digital {
		return d, err
	}
	// The letter's deadline runs from here, not from the end of the provider calls below.
	d.DeliveredAt = a.Now()
	if activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1 {
		return d, nil
	}
	var notices []notify.Notice
	d.Notices = map[notify.Channel]NoticeOutcome{}
	for _, ch := range []struct {
		want bool
		ch   notify.Channel
		to   string
	}{{d.Route.NotifySMS, notify.SMS, l.Recipient.Mobile}, {d.Route.NotifyEmail, notify.Email, l.Recipient.Email}} {
		switch {
		case !ch.want:
		case ch.to == "":
			d.Notices[ch.ch] = NoticeOutcome{Outcome: notify.Skipped, Detail: "no " + string(ch.ch) + " registered"}
		default:
			n := notify.NewPostNotice(letterID, ch.ch, ch.to, l.Sender.Organisation)
			n.Urgent = l.Urgency == letters.Urgent
			notices = append(notices, n)
		}
	}
	for i, r := range a.Notices.SendFirstTry(ctx, notices, true) {
		out, err := noticeResult(r.Outcome, r.Err)
		if err == nil {
			d.Notices[notices[i].Channel] = out
		} else if activity.IsActivity(ctx) {
			// Not an activity failure (the notice goes on to its provider's queue), so say it here.
			activity.GetLogger(ctx).Warn("notice's first try did not settle it; its provider's queue takes over",
				"letter_id", letterID, "channel", notices[i].Channel, "error", err)
		}
	}
	return d, nil
}

func (a *Activities) deliver(ctx context.Context, letterID uuid.UUID) (Delivery, letters.Addressed, error) {
	l, err := a.letterWithParties(ctx, letterID)
	if err != nil {
		return Delivery{}, l, err
	}
	c := l.Recipient
	d := Delivery{Route: letters.Decide(l.PhysicalOnly, c, a.Now())}
	if d.Route.Undeliverable() {
		// Accepted while the recipient could receive post, they died or moved abroad with no
		// known address since: the letter ends here with the reason, and nothing is printed.
		return Delivery{}, l, temporal.NewNonRetryableApplicationError(
			"no letter can reach the recipient: "+d.Route.Reason, ErrRecipientUnreachable, nil)
	}
	if l.DigitalOnly && d.Route.Channel != letters.Digital {
		// Accepted while the recipient could read digital post, they no longer can (exempt
		// since). A digital-only letter is never printed: it ends here with the reason, not in
		// print rendering with a PDF library's message.
		return Delivery{}, l, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"the recipient can no longer receive digital post (%s), and the letter is digital-only", d.Route.Reason), ErrRecipientUnreachable, nil)
	}
	if d.Route.Channel != letters.Digital {
		return d, l, a.Letters.MarkStarted(ctx, l.ID) // printing follows; the start is confirmed now
	}
	if d.Route.NeverLoggedIn {
		if d.SendWaitingNotice, err = a.Registry.ClaimWaitingNotice(ctx, c.ID, l.ID); err != nil {
			return Delivery{}, l, err
		}
	}
	return d, l, a.Letters.SetStatus(ctx, l.ID, letters.Delivered, letters.Digital, "", mailbox.Delivery(l.ID, c.ID))
}

// PrintRequest asks for one print job.
type PrintRequest struct {
	LetterID uuid.UUID
	Purpose  print.Purpose
	Reason   string
}

// PrintResult describes the spooled job.
type PrintResult struct {
	JobID string
	Pages int
}

// PrintLetter renders the letter (or the waiting notice) to PDF and hands it to remote print,
// once per letter and purpose: a retry finds the job already recorded.
func (a *Activities) PrintLetter(ctx context.Context, req PrintRequest) (PrintResult, error) {
	if job, ok, err := a.PrintJobs.Find(ctx, req.LetterID, req.Purpose); err != nil || ok {
		return PrintResult{JobID: job.JobID, Pages: job.Pages}, err
	}
	l, err := a.letterWithParties(ctx, req.LetterID)
	if err != nil {
		return PrintResult{}, err
	}
	c, sender := l.Recipient, l.Sender
	if req.Purpose == print.WaitingNotice && l.Status == letters.Withdrawn {
		// Nothing is waiting any more: no notice, and the next letter carries it instead.
		return PrintResult{}, a.Registry.ReleaseWaitingNotice(ctx, l.ID)
	}
	if route := letters.Decide(l.PhysicalOnly, c, a.Now()); route.Undeliverable() {
		// The recipient died or moved abroad with no known address while the letter waited in
		// the mailbox: paper would reach nobody.
		return PrintResult{}, temporal.NewNonRetryableApplicationError(
			"no letter can reach the recipient: "+route.Reason, ErrRecipientUnreachable, nil)
	}
	if strings.TrimSpace(c.PostalAddress()) == "" {
		return PrintResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("letter %s: recipient has no postal address", l.ID), ErrUnprintable, nil)
	}
	sheet := print.Sheet{
		Organisation: sender.Organisation, ProducingUnit: sender.ProducingUnit, ReturnAddress: sender.ReturnAddress,
		RecipientName: c.Name, RecipientAddress: c.PostalAddress(), Date: a.Now(), Reference: l.ID.String(),
		Subject: l.Subject, Body: l.Body,
	}
	var documents [][]byte
	if req.Purpose == print.WaitingNotice {
		sheet.Subject = "Du har digital post"
		sheet.Body = fmt.Sprintf("%s har sendt dig digital post. Du modtager offentlig post digitalt. "+
			"Log på din digitale postkasse for at læse brevet. Har du brug for hjælp, "+
			"så kontakt borgerservice i din kommune.", sender.Organisation)
	} else {
		docs, err := a.Letters.Documents(ctx, l.ID)
		if err != nil {
			return PrintResult{}, err
		}
		for _, d := range docs {
			documents = append(documents, d.Content)
		}
	}
	pdf, pages, err := print.Render(sheet, documents)
	if err != nil {
		return PrintResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("letter %s: %v", l.ID, err), ErrUnprintable, nil)
	}
	// The letter goes in its own category; the notice that digital post is waiting is ordinary mail.
	category := string(l.PostalCategory)
	if req.Purpose == print.WaitingNotice || category == "" {
		category = string(letters.Economy)
	}
	job := print.Job{ID: print.JobID(l.ID, req.Purpose), LetterID: l.ID.String(), Purpose: string(req.Purpose),
		Reason: req.Reason, Envelope: "C5", Pages: pages, PostalCategory: category, Abroad: c.Emigrated(), CreatedAt: a.Now()}
	location, err := a.Printer.Submit(ctx, job, pdf)
	if err != nil {
		return PrintResult{}, err
	}
	err = a.PrintJobs.Spooled(ctx, print.Record{LetterID: l.ID, Purpose: req.Purpose, Reason: req.Reason,
		JobID: job.ID, PDFPath: location, Pages: pages, PostalCategory: category})
	if err == nil {
		a.Metrics.PrintJob(string(req.Purpose), category)
	}
	return PrintResult{JobID: job.ID, Pages: pages}, err
}

// Outcome is a letter's state as the workflow decided it.
type Outcome struct {
	LetterID uuid.UUID
	Status   letters.Status
	Channel  letters.Channel
	Reason   string
}

// RecordOutcome writes the letter's state to PostgreSQL, where lists are read from.
// A withdrawn letter also leaves the mailbox.
func (a *Activities) RecordOutcome(ctx context.Context, o Outcome) error {
	channel := o.Channel
	if channel == "" && o.Status == letters.Opened {
		channel = letters.Digital // only a letter in the mailbox is opened; the workflow names no new channel then
	}
	defer a.Metrics.LetterFinished(string(o.Status), string(channel))
	if o.Status == letters.Withdrawn {
		if err := a.Mailbox.Withdraw(ctx, o.LetterID); err != nil {
			return err
		}
		if err := a.Registry.ReleaseWaitingNotice(ctx, o.LetterID); err != nil {
			return err
		}
	}
	err := a.Letters.SetStatus(ctx, o.LetterID, o.Status, o.Channel, o.Reason)
	if errors.Is(err, letters.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("letter %s is not stored", o.LetterID), ErrLetterUnknown, nil)
	}
	return err
}

// Withdrawal is how a sender's withdrawal ended: taken back, or refused because the letter
// was opened first (then Opened says when and by whom).
type Withdrawal struct {
	Withdrawn bool
	Opened    *MailboxOpening
}

// MailboxOpening is an opening as the mailbox recorded it.
type MailboxOpening struct {
	At         time.Time
	ByDelegate bool
}

// WithdrawLetter takes a letter out of the mailbox and records it withdrawn, unless the
// citizen opened it first: the mailbox row decides that race, not the order in which the
// workflow heard of the two.
func (a *Activities) WithdrawLetter(ctx context.Context, letterID uuid.UUID) (Withdrawal, error) {
	e, withdrawn, err := a.Mailbox.WithdrawUnlessOpened(ctx, letterID)
	if err != nil {
		return Withdrawal{}, err
	}
	if !withdrawn {
		return Withdrawal{Opened: openingOf(e)}, nil
	}
	// Withdrawn after it arrived, the letter had legal effect from the moment it was in the
	// mailbox: the record says so, and so does the sender's event.
	reason := ""
	if !e.DeliveredAt.IsZero() {
		reason = letters.WithdrawnAfterArrival(e.DeliveredAt)
	}
	err = a.Letters.SetStatus(ctx, letterID, letters.Withdrawn, "", reason)
	if errors.Is(err, letters.ErrNotFound) {
		return Withdrawal{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("letter %s is not stored", letterID), ErrLetterUnknown, nil)
	}
	return Withdrawal{Withdrawn: true}, err
}

// FindOpening asks the mailbox whether the letter was opened: the last look before a letter
// goes to paper, so an opening whose signal never arrived still stops the escalation.
func (a *Activities) FindOpening(ctx context.Context, letterID uuid.UUID) (*MailboxOpening, error) {
	e, err := a.Mailbox.Entry(ctx, letterID)
	if errors.Is(err, mailbox.ErrNotInMailbox) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return openingOf(e), nil
}

func openingOf(e mailbox.Entry) *MailboxOpening {
	if e.OpenedAt == nil {
		return nil
	}
	return &MailboxOpening{At: *e.OpenedAt, ByDelegate: e.OpenedBy != nil && *e.OpenedBy != e.CitizenID}
}

// letterWithParties reads the letter, its recipient and its sender in one round trip.
func (a *Activities) letterWithParties(ctx context.Context, id uuid.UUID) (letters.Addressed, error) {
	l, err := a.Letters.WithParties(ctx, id)
	switch {
	case errors.Is(err, letters.ErrNotFound):
		return l, temporal.NewNonRetryableApplicationError(fmt.Sprintf("letter %s is not stored", id), ErrLetterUnknown, nil)
	case err != nil:
		return l, err
	case !l.HasRecipient:
		return l, recipientUnknown(l.ID)
	}
	return l, nil
}

func recipientUnknown(letter uuid.UUID) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("letter %s: recipient is not in the registry", letter), ErrRecipientUnknown, nil)
}
