// Package postoffice is the front desk of the engine: senders submit, withdraw and ask
// about letters; citizens open them. Every entry point (CLI, HTTP, bulk runs) goes through it.
package postoffice

import (
	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/domain/apikeys"
	"digitalpost/internal/domain/audit"
	"digitalpost/internal/domain/events"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/dossier"
	"digitalpost/internal/domain/fairness"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/domain/statistics"
	"digitalpost/internal/infra/searchattr"
	"digitalpost/internal/infra/telemetry"
	"digitalpost/workflows"
)

// PostOffice holds what the front desk needs.
type PostOffice struct {
	Temporal  client.Client
	TaskQueue string
	Registry  *registry.Registry
	Letters   *letters.Store
	Mailbox   *mailbox.Mailbox
	// Notices, PrintJobs and Events are what a letter's report reads beside the letter.
	Notices         *notify.Service
	PrintJobs       *print.Jobs
	Events          *events.Feed
	DefaultDeadline time.Duration
	// Reminder and Quiet go into every new letter: how long before its deadline an unopened
	// letter reminds the citizen, and the night hours a reminder waits out.
	Reminder time.Duration
	Quiet    calendar.QuietHours
	// NemSMS holds subscriptions and messages; AppointmentReminder is how long before a
	// letter's appointment its NemSMS reminder goes out.
	NemSMS              *nemsms.Store
	AppointmentReminder time.Duration
	Metrics             *telemetry.Metrics // nil: no metrics
	// Weights are the senders' shares of Temporal's queues (SENDER_WEIGHTS).
	Weights fairness.Weights
	// BulkStartsPerSecond paces a bulk run's starts (0: as fast as Concurrency allows). A run
	// started faster than its notices can go out only makes a backlog, and on the way takes the
	// CPU of Temporal and the workers from every other sender's letters.
	BulkStartsPerSecond float64
	// Routing tells whether this process's build takes every new workflow (nil: always): only
	// then may an urgent letter start eagerly on this process's workers, past Temporal's
	// routing of versions (a build being rolled out or drained must not take new letters). And
	// it tells whether the workers that take new workflows poll the urgent queue: a build that
	// does not (one from before the queue) would leave an urgent letter started there waiting.
	Routing interface {
		SoleCurrent(context.Context) bool
		Polled(ctx context.Context, queue string) bool
	}
	// Keys, Webhooks, Receipts and Lookups are the senders' side of the desk: who a key is,
	// where their events go, what the print house reports, and the record of look-ups (nil
	// when no audit key is set, and then look-ups are not answered).
	Keys     *apikeys.Keys
	Webhooks *webhooks.Hooks
	Receipts *printhouse.Receipts
	Lookups  *audit.Lookups
	// Statistics counts letters, notices and citizens for the statistics page and the senders'
	// dashboards.
	Statistics *statistics.Stats
	// Post is what citizens send: replies to letters and messages to contact points.
	Post *citizenpost.Store
	// Dossiers signs letters' delivery dossiers (nil: DOSSIER_SIGNING_KEYS is not set, and
	// none is answered).
	Dossiers *dossier.Signer
}

// Submission is a letter as a sender hands it in.
type Submission struct {
	SenderID     string
	MessageID    string // the sender's own id; repeating it returns the same letter
	RecipientCPR string
	Subject      string
	Body         string
	Documents    []letters.Document
	PhysicalOnly bool
	DigitalOnly  bool
	Deadline     time.Duration // 0: the configured default
	// DeadlineWorkingDays, instead of Deadline: the letter may stay unopened for this many
	// Danish working days from its submission (weekends and public holidays skipped).
	DeadlineWorkingDays int
	// DeliverAt delays delivery to a later time (scheduled delivery); nil delivers at once.
	DeliverAt *time.Time
	// PostalCategory for paper: economy (default), priority, registered, registered_proof.
	PostalCategory string
	// AppointmentAt: the letter calls to an appointment; a NemSMS reminder goes out before it.
	AppointmentAt *time.Time
	// Urgency: urgent or bulk within the sender's own work; "" takes the entry point's
	// default (a single letter urgent, a bulk run bulk).
	Urgency letters.Urgency
	// RepliesAllowed: whether the citizen may answer the letter; nil takes the sender's
	// default. ReplyBy ends the time for replies; ReplyContactPoint names the sender's contact
	// point they go to ("" the sender's default).
	RepliesAllowed    *bool
	ReplyBy           *time.Time
	ReplyContactPoint string
	// InReplyTo: the citizen's reply or message this letter answers; the letter goes to its
	// writer, and a single letter that names no recipient is addressed to them.
	InReplyTo *uuid.UUID
	// SubmittedBy names what handed the letter in ("api-key:<id>"), for its dossier.
	SubmittedBy string
}

// SetReplyBy reads a reply-by time, as SetDeliverAt does.
func (s *Submission) SetReplyBy(spec string) error {
	t, err := ParseTime("reply-by", spec)
	if err == nil && t != nil {
		s.ReplyBy = t
	}
	return err
}

// SetInReplyTo reads the id of the citizen's message a letter answers; "" answers none.
func (s *Submission) SetInReplyTo(spec string) error {
	if spec = strings.TrimSpace(spec); spec == "" {
		return nil
	}
	id, err := uuid.Parse(spec)
	if err != nil {
		return &fielderr.Error{Field: "in-reply-to", Rule: "must be the id of a citizen's reply or message (as GET /v1/messages lists them)"}
	}
	s.InReplyTo = &id
	return nil
}

// MaxSchedule is how far ahead a letter may be scheduled.
const MaxSchedule = 366 * 24 * time.Hour

// SetDeliverAt reads a delivery time as senders write it: RFC 3339 ("2026-12-24T09:00:00+01:00"),
// or a Danish local time without zone ("2026-12-24T09:00" or "2026-12-24 09:00"). "" delivers at once.
func (s *Submission) SetDeliverAt(spec string) error {
	t, err := ParseTime("deliver-at", spec)
	if err == nil && t != nil {
		s.DeliverAt = t
	}
	return err
}

// SetAppointmentAt reads an appointment time, as SetDeliverAt does.
func (s *Submission) SetAppointmentAt(spec string) error {
	t, err := ParseTime("appointment-at", spec)
	if err == nil && t != nil {
		s.AppointmentAt = t
	}
	return err
}

// ParseTime reads a time as senders write it (RFC 3339, or Danish local time without zone);
// "" is no time, nil.
func ParseTime(field, spec string) (*time.Time, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, spec)
	if err != nil {
		for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04"} {
			if t, err = time.ParseInLocation(layout, spec, calendar.Copenhagen); err == nil {
				break
			}
		}
	}
	if err != nil {
		return nil, &fielderr.Error{Field: field, Rule: "must be a time like 2026-12-24T09:00 (Danish time) or 2026-12-24T09:00:00+01:00"}
	}
	return &t, nil
}

// SetDeadline reads a deadline as senders write it, the same for every entry point: a
// duration ("72h", "90m") or Danish working days ("3wd"). "" keeps the default.
func (s *Submission) SetDeadline(spec string) error {
	if strings.TrimSpace(spec) == "" {
		return nil
	}
	if n, ok, err := calendar.ParseWorkingDays(spec); ok {
		if err != nil {
			return &fielderr.Error{Field: "deadline", Rule: err.Error()}
		}
		s.DeadlineWorkingDays, s.Deadline = n, 0
		return nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(spec))
	if err != nil {
		return &fielderr.Error{Field: "deadline", Rule: "must be a duration like 72h or 90m, or working days like 3wd"}
	}
	s.Deadline, s.DeadlineWorkingDays = d, 0
	return nil
}

// Receipt answers a submission.
type Receipt struct {
	LetterID   uuid.UUID
	WorkflowID string
	// Duplicate: this message id was submitted before; nothing new was delivered.
	Duplicate bool
}

// Limits on what a letter may carry.
const (
	MaxSubjectRunes = 200
	MaxMessageID    = 200
	// MaxTextRunes bounds a letter's own text: about 30 printed pages. A 5 MB text once
	// became a 1,280-page print job; longer content belongs in an enclosed PDF.
	MaxTextRunes = 100_000
	MinDeadline  = time.Second // deadlines are stored in whole seconds
	MaxDeadline  = 90 * 24 * time.Hour
)

// Submit validates a letter, stores it and starts its workflow. Bad input is reported as
// a fielderr.List and nothing is written. A repeated message id returns the stored letter
// and, should an earlier attempt have died between storing and starting, starts it now.
func (p *PostOffice) Submit(ctx context.Context, s Submission) (Receipt, error) {
	if err := p.addressAnswer(ctx, &s); err != nil {
		return Receipt{}, err
	}
	look, err := p.submissionLookup(ctx, s)
	if err != nil {
		return Receipt{}, err
	}
	l, docs, err := p.validate(ctx, s, look)
	if err != nil {
		return Receipt{}, err
	}
	stored, created, err := p.Letters.Create(ctx, l, docs)
	if err != nil {
		return Receipt{}, fmt.Errorf("store letter: %w", err)
	}
	if !created && !sameContent(stored, l) {
		return Receipt{}, &Conflict{LetterID: stored.ID, MessageID: stored.MessageID}
	}
	r := Receipt{LetterID: stored.ID, WorkflowID: letters.WorkflowID(stored.ID), Duplicate: !created}
	if err := p.start(ctx, stored); err != nil {
		return r, err
	}
	return r, nil
}

// Conflict is a message id the sender used before for a letter with other content. Nothing
// is written: the stored letter stands, and a changed letter needs a message id of its own.
type Conflict struct {
	LetterID  uuid.UUID
	MessageID string
}

func (c *Conflict) Error() string {
	return fmt.Sprintf("message_id %q was used before for letter %s with other content; a changed letter needs a new message_id", c.MessageID, c.LetterID)
}

// sameContent: letters stored before fingerprints existed have none and are taken as the same.
func sameContent(stored, submitted letters.Letter) bool {
	return stored.ContentHash == nil || bytes.Equal(stored.ContentHash, submitted.ContentHash)
}

// fingerprint hashes what makes a letter this letter: recipient, subject, text, documents,
// the routing flags and the deadline. Each part is length-prefixed, so no two letters share
// a fingerprint by moving bytes from one field to the next.
//
// A deadline in working days counts as written ("3wd"): the same letter sent again the next
// day is the same letter, though three working days from then last a different time.
func fingerprint(l letters.Letter, workingDays int, replies string, docs []letters.Document) []byte {
	h := sha256.New()
	part := func(b []byte) {
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	if l.RecipientID != nil {
		part(l.RecipientID[:])
	}
	part([]byte(l.Subject))
	part([]byte(l.Body))
	deadline := fmt.Sprint(int64(l.Deadline / time.Second))
	if workingDays > 0 {
		deadline = fmt.Sprintf("%dwd", workingDays)
	}
	part([]byte(fmt.Sprintf("physical=%t digital=%t deadline=%s", l.PhysicalOnly, l.DigitalOnly, deadline)))
	// Written only when set, so letters stored before these existed keep their fingerprint.
	if l.DeliverAt != nil {
		part([]byte("deliver-at=" + l.DeliverAt.UTC().Format(time.RFC3339)))
	}
	if l.PostalCategory != "" && l.PostalCategory != letters.Economy {
		part([]byte("postal-category=" + string(l.PostalCategory)))
	}
	if l.AppointmentAt != nil {
		part([]byte("appointment-at=" + l.AppointmentAt.UTC().Format(time.RFC3339)))
	}
	if replies != "" {
		part([]byte(replies))
	}
	if l.InReplyTo != nil {
		part([]byte("in-reply-to=" + l.InReplyTo.String()))
	}
	for _, d := range docs {
		part([]byte(d.Filename))
		part(d.Content)
	}
	return h.Sum(nil)
}

// start runs the letter's workflow. Its id comes from the letter id, and a second start for
// the same letter (running or finished) is turned away by Temporal: one letter, one delivery.
func (p *PostOffice) start(ctx context.Context, l letters.Letter) error {
	_, err := p.Temporal.ExecuteWorkflow(ctx, p.startOptions(ctx, l), workflows.LetterWorkflow, p.input(l))
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start letter %s: %w", l.ID, err)
	}
	return nil
}

// startOptions are how every start of a letter's workflow asks for it: the first, the
// recovery sweep's, and one made by a withdrawal that reached a letter not yet started. The
// letter's sender and urgency give its place in the queues (fairness between senders).
//
// Only urgent letters start eagerly. An eager start hands the first task straight to a worker
// in this process, past the queue: a bulk run started that way took every free task slot of the
// worker, and another sender's single letter waited in the queue behind it for seconds. Bulk
// letters go through the queue, where priority and fairness order them.
func (p *PostOffice) startOptions(ctx context.Context, l letters.Letter) client.StartWorkflowOptions {
	urgent := l.Urgency.OrDefault() == letters.Urgent
	summary, details := workflows.LetterSummary(p.input(l), urgent)
	return client.StartWorkflowOptions{
		StaticSummary:            summary,
		StaticDetails:            details,
		ID:                       letters.WorkflowID(l.ID),
		TaskQueue:                p.queue(ctx, urgent && l.BatchID == nil && l.StartAfter == nil),
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		EnableEagerStart:         urgent && (p.Routing == nil || p.Routing.SoleCurrent(ctx)),
		Priority:                 p.Weights.Priority(l.SenderID, urgent),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.LetterStatus.ValueSet(string(letters.Received)),
			searchattr.LetterSender.ValueSet(l.SenderID)),
	}
}

// input is what a letter's workflow starts with, the same for a first start and a resume.
func (p *PostOffice) input(l letters.Letter) workflows.LetterInput {
	in := workflows.LetterInput{LetterID: l.ID, SenderID: l.SenderID, Deadline: l.Deadline, DigitalOnly: l.DigitalOnly,
		Reminder: p.Reminder, Quiet: p.Quiet}
	if l.DeliverAt != nil {
		in.DeliverAt = *l.DeliverAt
	}
	if l.AppointmentAt != nil {
		in.AppointmentAt, in.AppointmentReminder = *l.AppointmentAt, p.AppointmentReminder
	}
	return in
}

// Resume starts a stored letter whose start was never confirmed (its submitter may have
// died between storing and starting it) and confirms the start. Starting is idempotent:
// a letter whose workflow runs, or ran, is left as it is.
func (p *PostOffice) Resume(ctx context.Context, l letters.Letter) error {
	if err := p.start(ctx, l); err != nil {
		return err
	}
	return p.Letters.MarkStarted(ctx, l.ID)
}

// lookup answers the registry questions validation asks; a bulk run answers them from
// batches read once instead of two queries per letter.
type lookup struct {
	sender    func(ctx context.Context, id string) (registry.Sender, bool, error)
	recipient func(ctx context.Context, n cpr.Number) (registry.Citizen, bool, error)
	citizens  map[cpr.Number]registry.Citizen // a bulk run's recipients, read once
	// contactPoints remembers which of a sender's contact points exist, asked once each.
	contactPoints map[[2]string]bool
}

// submissionLookup asks the registry about a letter's sender and recipient in one round trip
// and answers validation from that; input the rules will refuse anyway is not looked up.
func (p *PostOffice) submissionLookup(ctx context.Context, s Submission) (lookup, error) {
	look := p.registryLookup()
	senderID := strings.TrimSpace(s.SenderID)
	number, err := cpr.Parse(s.RecipientCPR)
	if senderID == "" || fielderr.TextRule(senderID) != "" || err != nil {
		return look, nil
	}
	snd, senderFound, c, citizenFound, err := p.Registry.SenderAndRecipient(ctx, senderID, number)
	if err != nil {
		return look, err
	}
	look.sender = func(context.Context, string) (registry.Sender, bool, error) { return snd, senderFound, nil }
	look.recipient = func(context.Context, cpr.Number) (registry.Citizen, bool, error) { return c, citizenFound, nil }
	return look, nil
}

func (p *PostOffice) registryLookup() lookup {
	return lookup{contactPoints: map[[2]string]bool{},
		sender: func(ctx context.Context, id string) (registry.Sender, bool, error) {
			s, err := p.Registry.Sender(ctx, id)
			if errors.Is(err, registry.ErrNotFound) {
				return s, false, nil
			}
			return s, err == nil, err
		},
		recipient: func(ctx context.Context, n cpr.Number) (registry.Citizen, bool, error) {
			c, err := p.Registry.CitizenByCPR(ctx, n)
			if errors.Is(err, registry.ErrNotFound) {
				return registry.Citizen{}, false, nil
			}
			return c, err == nil, err
		},
	}
}

func (p *PostOffice) validate(ctx context.Context, s Submission, look lookup) (letters.Letter, []letters.Document, error) {
	var errs fielderr.List
	l := letters.Letter{SenderID: strings.TrimSpace(s.SenderID), MessageID: strings.TrimSpace(s.MessageID),
		Subject: strings.TrimSpace(s.Subject), Body: s.Body, PhysicalOnly: s.PhysicalOnly, DigitalOnly: s.DigitalOnly,
		Deadline: s.Deadline, SubmittedBy: s.SubmittedBy}
	if urgency, err := letters.ParseUrgency(strings.TrimSpace(string(s.Urgency)), letters.Urgent); err != nil {
		errs.Add("urgency", err.Error())
	} else {
		l.Urgency = urgency
	}
	if category, err := letters.ParsePostalCategory(strings.TrimSpace(s.PostalCategory)); err != nil {
		errs.Add("postal-category", err.Error())
	} else if l.PostalCategory = category; category != letters.Economy && s.DigitalOnly {
		errs.Add("postal-category", "a digital-only letter never goes on paper; leave the postal category out")
	}
	if s.AppointmentAt != nil {
		switch now := time.Now(); {
		case !s.AppointmentAt.After(now):
			errs.Add("appointment-at", "must be in the future")
		case s.AppointmentAt.Sub(now) > MaxSchedule:
			errs.Add("appointment-at", "must be at most a year ahead")
		default:
			at := s.AppointmentAt.UTC().Truncate(time.Second)
			l.AppointmentAt = &at
		}
	}
	if l.AppointmentAt != nil && s.DeliverAt != nil && !l.AppointmentAt.After(*s.DeliverAt) {
		errs.Add("appointment-at", "must be after the letter's delivery (deliver-at)")
	}
	if s.DeliverAt != nil {
		switch now := time.Now(); {
		case !s.DeliverAt.After(now):
			errs.Add("deliver-at", "must be in the future; leave it out to deliver at once")
		case s.DeliverAt.Sub(now) > MaxSchedule:
			errs.Add("deliver-at", "must be at most a year ahead")
		default:
			at := s.DeliverAt.UTC().Truncate(time.Second)
			l.DeliverAt = &at
		}
	}

	// Text rules first: PostgreSQL refuses NUL bytes and invalid UTF-8 even in a lookup.
	var sender *registry.Sender
	if l.SenderID == "" {
		errs.Add("sender", "must not be empty")
	} else if rule := fielderr.TextRule(l.SenderID); rule != "" {
		errs.Add("sender", rule)
	} else if snd, ok, err := look.sender(ctx, l.SenderID); err != nil {
		return l, nil, err
	} else if !ok {
		errs.Add("sender", "is not a registered sender")
	} else {
		sender = &snd
	}

	if number, err := cpr.Parse(s.RecipientCPR); err != nil {
		errs.Add("to", "CPR number "+err.Error())
	} else if c, ok, err := look.recipient(ctx, number); err != nil {
		return l, nil, err
	} else if !ok {
		errs.Add("to", "recipient is not in the registry")
	} else {
		l.RecipientID = &c.ID
		// A digital-only letter to someone who gets paper would reach nobody: it used to be
		// accepted, routed to paper and fail in print rendering with a PDF library's message.
		switch route := letters.Decide(l.PhysicalOnly, c, calendar.In(time.Now())); {
		case route.Undeliverable():
			errs.Add("to", "no letter can reach the recipient: "+route.Reason)
		case l.DigitalOnly && !l.PhysicalOnly && route.Channel == letters.Paper:
			errs.Add("digital-only", "the recipient cannot receive digital post ("+route.Reason+"); send it without --digital-only so it goes on paper")
		}
	}

	if sender != nil {
		if err := p.decideReplies(ctx, s, &l, *sender, &look, &errs); err != nil {
			return l, nil, err
		}
	}

	if l.Subject == "" {
		errs.Add("subject", "must not be empty")
	}
	checkSubject(&errs, l.Subject)
	if len(l.MessageID) > MaxMessageID {
		errs.Add("message-id", fmt.Sprintf("must be at most %d characters", MaxMessageID))
	} else {
		errs.CheckText("message-id", l.MessageID)
	}
	checkText(&errs, l.Body)
	if strings.TrimSpace(l.Body) == "" && len(s.Documents) == 0 {
		errs.Add("content", "a letter needs text or at least one document")
	}
	if l.PhysicalOnly && l.DigitalOnly {
		errs.Add("digital-only", "cannot be combined with physical-only")
	}
	switch {
	case s.DeadlineWorkingDays > 0 && s.Deadline != 0:
		errs.Add("deadline", "give a duration or working days, not both")
	case s.DeadlineWorkingDays > 0:
		from := time.Now() // the deadline runs from delivery: now, or the scheduled time
		if l.DeliverAt != nil {
			from = *l.DeliverAt
		}
		l.Deadline = calendar.WorkingDaysFrom(calendar.In(from), s.DeadlineWorkingDays)
	case l.Deadline == 0:
		l.Deadline = p.DefaultDeadline
	}
	switch {
	case l.Deadline < MinDeadline || l.Deadline > MaxDeadline:
		errs.Add("deadline", "must be at least 1 second and at most 90 days")
	case l.Deadline%time.Second != 0:
		// 500ms used to become 0 seconds in PostgreSQL and fail there, after validation.
		errs.Add("deadline", "must be whole seconds (like 90s or 72h)")
	}

	docs := checkDocuments(&errs, s.Documents, l.DigitalOnly)
	if err := errs.Err(); err != nil {
		return l, nil, err
	}
	if l.MessageID == "" {
		l.MessageID = uuid.NewString() // no id from the sender: every submission is a new letter
	}
	l.ID = letters.IDFor(l.SenderID, l.MessageID)
	l.ContentHash = fingerprint(l, s.DeadlineWorkingDays, replyFingerprint(s), docs)
	return l, docs, nil
}

// checkSubject holds a subject, a letter's or a citizen's reply's, to a letter's rules: at
// most MaxSubjectRunes, text PostgreSQL stores. Whether one is required is the caller's.
func checkSubject(errs *fielderr.List, subject string) {
	if utf8.RuneCountInString(subject) > MaxSubjectRunes {
		errs.Add("subject", fmt.Sprintf("must be at most %d characters", MaxSubjectRunes))
		return
	}
	errs.CheckText("subject", subject)
}

// checkText holds a text, a letter's or what a citizen writes, to a letter's rules.
func checkText(errs *fielderr.List, text string) {
	if utf8.RuneCountInString(text) > MaxTextRunes {
		errs.Add("text", fmt.Sprintf("must be at most %d characters (about 30 printed pages); enclose longer content as a PDF document", MaxTextRunes))
		return
	}
	errs.CheckText("text", text)
}

// queue is the task queue a workflow starts on: urgent work on the urgent queue, whose task
// slots a bulk run's backlog never takes, once the workers that take new workflows poll it;
// until then (a rollout from a build before it) on the letters queue, still ahead of bulk. A
// run's letters marked urgent keep the letters queue (their priority still puts them first):
// a run of them would take the urgent queue's slots from every sender's single letters.
func (p *PostOffice) queue(ctx context.Context, urgent bool) string {
	if urgent {
		if q := workflows.UrgentTaskQueue(p.TaskQueue); p.Routing == nil || p.Routing.Polled(ctx, q) {
			return q
		}
	}
	return p.TaskQueue
}
