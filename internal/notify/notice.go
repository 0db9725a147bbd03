// Package notify tells citizens that new post has arrived, by SMS (Twilio) and e-mail
// (SendGrid), and makes sure a retried activity never sends the same notice twice.
package notify

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Channel is how a notice travels.
type Channel string

const (
	SMS   Channel = "sms"
	Email Channel = "email"
)

// Purpose names why a notice is sent; one notice per letter, channel and purpose.
type Purpose string

const NewPost Purpose = "new-post"

// Notice is one message to one citizen.
type Notice struct {
	LetterID uuid.UUID
	Channel  Channel
	Purpose  Purpose
	To       string // E.164 mobile number or e-mail address
	Subject  string // e-mail only
	Body     string
}

// NewPostNotice says only that new post has arrived and from whom: never the subject or
// content, which may be sensitive (rule 8). It fits one SMS (160 characters).
func NewPostNotice(letter uuid.UUID, ch Channel, to, organisation string) Notice {
	body := fmt.Sprintf("Du har fået ny digital post fra %s. Log på din digitale postkasse for at læse den.", organisation)
	if len([]rune(body)) > 160 {
		body = string([]rune(body)[:157]) + "..."
	}
	return Notice{LetterID: letter, Channel: ch, Purpose: NewPost, To: to,
		Subject: "Ny digital post fra " + organisation, Body: body}
}

// ErrRejected marks a notice the provider refused for good (an invalid number, a bounced
// address): retrying cannot help, so activities report it as non-retryable.
var ErrRejected = errors.New("rejected by provider")

// ErrNotDelivered is a definite failure the provider reported (e.g. HTTP 5xx):
// the notice was not sent and may be retried.
var ErrNotDelivered = errors.New("provider did not accept the notice")

// Outcome is how sending ended.
type Outcome string

const (
	Sent Outcome = "sent"
	// AlreadyHandled: an earlier attempt sent it, or was cut off mid-call so we cannot know;
	// either way we do not send again (nothing twice; paper escalation is the safety net).
	AlreadyHandled Outcome = "already-handled"
)
