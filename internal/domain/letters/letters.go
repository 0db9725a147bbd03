// Package letters is the letter domain: what a letter is, the states it moves through,
// where it is routed, and its rows in PostgreSQL.
package letters

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Status is where a letter is in its lifecycle.
//
//	received ─► delivered ─► notified ─► opened
//	    │            └──────────┴──────► escalated   (not opened by the deadline; printed on paper)
//	    ├─► printed                                   (paper route: under 15, exempt, physical-only)
//	    └─► withdrawn / failed                        (from any state before opened or printed)
type Status string

const (
	Received  Status = "received"  // accepted and stored; workflow started
	Delivered Status = "delivered" // in the citizen's digital mailbox
	Notified  Status = "notified"  // SMS and/or e-mail notice sent (only if the citizen gave contact details)
	Opened    Status = "opened"    // opened by the citizen or a delegate
	Escalated Status = "escalated" // not opened in time: sent to remote print
	Printed   Status = "printed"   // routed to paper and handed to remote print
	Withdrawn Status = "withdrawn" // withdrawn by the sender before it was opened or printed
	Failed    Status = "failed"    // could not be delivered; FailureReason says why
	// What the print house answered about a printed or escalated letter (its receipts).
	Posted      Status = "posted"       // handed to the postal service
	Returned    Status = "returned"     // came back to the sender as undeliverable
	PrintFailed Status = "print_failed" // the print house could not print or post it; FailureReason says why
)

// Final tells whether nothing more will happen to the letter.
func (s Status) Final() bool {
	switch s {
	case Opened, Escalated, Printed, Withdrawn, Failed, Posted, Returned, PrintFailed:
		return true
	}
	return false
}

// Withdrawable tells whether the sender may still withdraw the letter.
func (s Status) Withdrawable() bool {
	return s == Received || s == Delivered || s == Notified
}

// Channel is how the letter reaches the citizen.
type Channel string

const (
	Digital Channel = "digital" // digital mailbox
	Paper   Channel = "paper"   // remote print, posted in an envelope
	// DigitalThenPaper is a digital letter escalated to paper because it was not opened in time.
	DigitalThenPaper Channel = "digital+paper"
)

// DefaultDeadline is how long a digital letter may stay unopened before it goes to paper (rule 6).
const DefaultDeadline = 72 * time.Hour

// Letter is one letter from a sender to a citizen. Content stays in PostgreSQL;
// only the id travels through Temporal.
type Letter struct {
	ID           uuid.UUID
	SenderID     string
	MessageID    string
	RecipientID  *uuid.UUID // nil once the recipient is deleted from the registry
	Subject      string
	Body         string
	PhysicalOnly bool
	DigitalOnly  bool
	Deadline     time.Duration
	// DeliverAt: delivery waits until then (scheduled delivery); nil delivers at once. The
	// deadline runs from delivery.
	DeliverAt *time.Time
	// PostalCategory is how the letter goes on paper, if it does.
	PostalCategory PostalCategory
	// AppointmentAt: the letter calls the citizen to an appointment; a NemSMS reminder goes
	// out before it to a subscribed citizen.
	AppointmentAt *time.Time
	// Urgency orders the letter among its sender's own work: urgent before bulk.
	Urgency Urgency
	// StartAfter: a letter of a paced bulk run is due to be started then; the recovery sweep
	// leaves it to the run until that time and its grace have passed. Written only.
	StartAfter *time.Time
	// Replies says whether and until when the citizen may answer the letter, and to whom.
	Replies ReplyOptions
	// InReplyTo: the citizen's message (a reply or a message written first) this letter answers.
	InReplyTo *uuid.UUID
	// SubmittedBy names what handed the letter in: "api-key:<id>" for the senders' API, "" for
	// the engine's own entry points. Its delivery dossier says so.
	SubmittedBy string
	// LegalDeliveryAt is when the letter arrived in the law's sense (Lov om Digital Post § 10):
	// the moment it was available in the mailbox, opened or not. Nil while it is not there
	// (not yet delivered, or a paper letter). Read only.
	LegalDeliveryAt *time.Time
	Status          Status
	Channel         Channel
	FailureReason   string
	// ContentHash fingerprints what the sender handed in (recipient, text, documents, flags):
	// the same message id with other content is a conflict, not the same letter again.
	ContentHash []byte
	BatchID     *uuid.UUID // the batch (file) it came in, if any
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// WithdrawnAfterArrival is the reason recorded for a letter withdrawn after it arrived: it was
// in the mailbox, and so had arrived in the law's sense, from that moment (opened or not).
func WithdrawnAfterArrival(at time.Time) string {
	return "withdrawn after arrival: the letter was in the citizen's mailbox (legal delivery) from " +
		at.UTC().Format(time.RFC3339) + ", unopened"
}

// ReplyOptions are what a sender decides about answers to a letter. The zero value allows none.
type ReplyOptions struct {
	Allowed bool
	// By: no reply after this time; nil allows one for as long as the letter is in the mailbox.
	By *time.Time
	// ContactPoint: the id of the sender's contact point the reply goes to; "" the sender as a whole.
	ContactPoint string
}

// ReplyRefusal is why a letter cannot be answered now; "" when it can.
type ReplyRefusal string

const (
	NoReplies       ReplyRefusal = "the sender does not take replies to this letter"
	WithdrawnLetter ReplyRefusal = "the sender withdrew the letter"
	PastReplyBy     ReplyRefusal = "the time for replies to this letter has passed"
)

// ReplyRefusal says why the letter cannot be answered at a moment, or "" when it can.
func (l Letter) ReplyRefusal(now time.Time) ReplyRefusal {
	switch {
	case !l.Replies.Allowed:
		return NoReplies
	case l.Status == Withdrawn:
		return WithdrawnLetter
	case l.Replies.By != nil && now.After(*l.Replies.By):
		return PastReplyBy
	}
	return ""
}

// PostalCategory is the service a paper letter is posted with.
type PostalCategory string

const (
	Economy         PostalCategory = "economy"  // B-post, the default
	Priority        PostalCategory = "priority" // A-post, next working day
	Registered      PostalCategory = "registered"
	RegisteredProof PostalCategory = "registered_proof" // registered, delivered against a signature
)

// PostalCategories lists them in the order senders are shown them.
func PostalCategories() []PostalCategory {
	return []PostalCategory{Economy, Priority, Registered, RegisteredProof}
}

// ParsePostalCategory reads a category as senders write it; "" is economy.
func ParsePostalCategory(s string) (PostalCategory, error) {
	if s == "" {
		return Economy, nil
	}
	for _, c := range PostalCategories() {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("must be one of economy, priority, registered, registered_proof")
}

// Urgency is where a letter stands in its sender's own queue of work. Every sender shares the
// service fairly with the others; within one sender, urgent letters (a single letter, an
// appointment) go before bulk letters (a run to every household).
type Urgency string

const (
	Urgent Urgency = "urgent" // the default of a single letter
	Bulk   Urgency = "bulk"   // the default of a bulk run or batch
)

// ParseUrgency reads an urgency as senders write it; "" takes the entry point's default.
func ParseUrgency(s string, byDefault Urgency) (Urgency, error) {
	switch Urgency(s) {
	case "":
		return byDefault, nil
	case Urgent, Bulk:
		return Urgency(s), nil
	}
	return "", fmt.Errorf("must be urgent or bulk")
}

// OrDefault is the urgency of a letter stored before urgencies existed: urgent.
func (u Urgency) OrDefault() Urgency {
	if u == "" {
		return Urgent
	}
	return u
}

// IsRegistered tells whether the letter must be posted as registered mail.
func (c PostalCategory) IsRegistered() bool { return c == Registered || c == RegisteredProof }

// Document is an attachment; for a letter that may be printed it must be a PDF.
type Document struct {
	Filename    string
	ContentType string
	Content     []byte
}

// MaxDocumentBytes is the largest document a letter may carry.
const MaxDocumentBytes = 10 << 20

// IDFor derives a letter id from the sender's own message id, so a repeated
// submission names the same letter (and the same workflow) and is delivered once.
func IDFor(senderID, messageID string) uuid.UUID {
	return uuid.NewSHA1(letterNamespace, []byte(senderID+"\x00"+messageID))
}

var letterNamespace = uuid.MustParse("6f1c3c52-8e0c-4c1e-9a47-0c5d0f0a7d10")

// WorkflowID is the Temporal workflow id of a letter; it carries no personal data.
func WorkflowID(id uuid.UUID) string { return "letter-" + id.String() }
