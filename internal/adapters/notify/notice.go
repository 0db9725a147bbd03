// Package notify tells citizens that new post has arrived, by SMS (Twilio) and e-mail
// (SendGrid), and makes sure a retried activity never sends the same notice twice.
package notify

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/domain/smslength"
)

// Channel is how a notice travels.
type Channel string

const (
	SMS   Channel = "sms"
	Email Channel = "email"
)

// Purpose names why a notice is sent; one notice per letter, channel and purpose.
type Purpose string

const (
	NewPost  Purpose = "new-post"
	Reminder Purpose = "reminder" // the letter is still unopened and goes on paper soon
)

// Notice is one message to one citizen.
type Notice struct {
	LetterID uuid.UUID
	Channel  Channel
	Purpose  Purpose
	To       string // E.164 mobile number or e-mail address
	Subject  string // e-mail only
	Body     string
	// Standalone: the message does not depend on a letter waiting for its reader (a NemSMS
	// message, an appointment reminder); a notice of new post is sent only while it waits.
	Standalone bool
	// Urgent: the notice may take its provider's urgent lane (a single letter's notice, a
	// NemSMS message, an appointment reminder), not only the lane a bulk run shares.
	Urgent bool
}

// NewPostNotice says only that new post has arrived and from whom: never the subject or
// content, which may be sensitive (rule 8). It fits one SMS as the phone counts it.
func NewPostNotice(letter uuid.UUID, ch Channel, to, organisation string) Notice {
	body := smslength.Fit(fmt.Sprintf("Du har fået ny digital post fra %s. Log på din digitale postkasse for at læse den.", organisation))
	return Notice{LetterID: letter, Channel: ch, Purpose: NewPost, To: to,
		Subject: "Ny digital post fra " + organisation, Body: body}
}

// ReminderNotice tells that a letter from organisation is still unopened and that a copy goes
// on paper at the deadline unless it is opened; like every notice, it names neither subject
// nor content. It never suggests the letter has not arrived: under the Act (§ 10) a digital
// letter has arrived when it is in the mailbox, opened or not.
func ReminderNotice(letter uuid.UUID, ch Channel, to, organisation string) Notice {
	body := smslength.Fit(fmt.Sprintf("Påmindelse: Du har uåbnet digital post fra %s. Den er kommet frem. Åbner du den ikke snart, får du en kopi med posten.", organisation))
	return Notice{LetterID: letter, Channel: ch, Purpose: Reminder, To: to,
		Subject: "Påmindelse: uåbnet digital post fra " + organisation, Body: body}
}

// ErrRejected marks a notice the provider refused for good (an invalid number, a bounced
// address): retrying cannot help, so activities report it as non-retryable.
var ErrRejected = errors.New("rejected by provider")

// ErrNotDelivered is a definite failure the provider reported (e.g. HTTP 5xx):
// the notice was not sent and may be retried.
var ErrNotDelivered = errors.New("provider did not accept the notice")

// SlowDown is the provider asking us to wait (HTTP 429): the notice was not sent, and no
// notice of this provider should go out for After (0: the provider did not say).
type SlowDown struct {
	After time.Duration
	Err   error
}

func (s *SlowDown) Error() string {
	if s.After > 0 {
		return fmt.Sprintf("%v; provider asks to retry after %s", s.Err, s.After)
	}
	return s.Err.Error()
}

func (s *SlowDown) Unwrap() error { return s.Err }

// Outcome is how sending a notice ended. Only Sent counts as notified.
type Outcome string

const (
	Sent     Outcome = "sent"     // the provider accepted it (now or in an earlier attempt)
	Rejected Outcome = "rejected" // the provider refused the number or address for good
	// Unknown: an earlier attempt died during the provider call, so nobody knows whether the
	// provider got it. It is not sent again (it might reach the citizen twice) and does not
	// count as sent; `starter notices --stuck` lists it for an operator to settle.
	Unknown Outcome = "unknown"
	// Skipped: the letter no longer waits for its reader (opened, withdrawn, ended).
	Skipped Outcome = "skipped"
)
