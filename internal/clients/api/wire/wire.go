// Package wire is the senders' API's JSON, as openapi.yaml describes it: the one shape of a
// letter, an event, a NemSMS message, a batch and a refusal that the API writes and its clients
// (the command line's sendersapi) read.
package wire

import (
	"encoding/base64"
	"time"
)

// LetterRequest is a letter as a sender hands it in (schema LetterRequest): POST /v1/letters
// as JSON, and one line of an NDJSON batch. The server reads the multipart form into it too.
type LetterRequest struct {
	MessageID      string     `json:"message_id"`
	RecipientCPR   string     `json:"recipient_cpr"`
	Subject        string     `json:"subject"`
	Text           string     `json:"text,omitempty"`
	Documents      []Document `json:"documents,omitempty"`
	PhysicalOnly   bool       `json:"physical_only,omitempty"`
	DigitalOnly    bool       `json:"digital_only,omitempty"`
	Deadline       string     `json:"deadline,omitempty"`
	DeliverAt      string     `json:"deliver_at,omitempty"`
	PostalCategory string     `json:"postal_category,omitempty"`
	AppointmentAt  string     `json:"appointment_at,omitempty"`
	Urgency        string     `json:"urgency,omitempty"`
	// Replies: whether the citizen may answer (absent: the sender's default), until when,
	// and to which of the sender's contact points.
	RepliesAllowed    *bool  `json:"replies_allowed,omitempty"`
	ReplyBy           string `json:"reply_by,omitempty"`
	ReplyContactPoint string `json:"reply_contact_point,omitempty"`
	// InReplyTo: the id of the citizen's reply or message this letter answers.
	InReplyTo string `json:"in_reply_to,omitempty"`
}

// Document is an enclosed file. Content stays base64 text here, not bytes: the server names a
// bad encoding as the field documents[i].content, where decoding into bytes would fail the
// whole body with an error that names no field.
type Document struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Content     string `json:"content"` // base64 (RFC 4648, with padding)
}

// NewDocument encloses a file's bytes.
func NewDocument(filename, contentType string, content []byte) Document {
	return Document{Filename: filename, ContentType: contentType, Content: base64.StdEncoding.EncodeToString(content)}
}

// Letter is a letter as the API shows it (schema Letter); a list leaves out notices, print jobs
// and timeline.
type Letter struct {
	ID           string     `json:"id"`
	MessageID    string     `json:"message_id"`
	Status       string     `json:"status"`
	Channel      string     `json:"channel"`
	Subject      string     `json:"subject"`
	PhysicalOnly bool       `json:"physical_only"`
	DigitalOnly  bool       `json:"digital_only"`
	Deadline     string     `json:"deadline"`
	DeliverAt    *time.Time `json:"deliver_at,omitempty"`
	// LegalDeliveryAt: when the letter arrived, in the law's sense: available in the mailbox,
	// opened or not.
	LegalDeliveryAt *time.Time   `json:"legal_delivery_at,omitempty"`
	AppointmentAt   *time.Time   `json:"appointment_at,omitempty"`
	PostalCategory  string       `json:"postal_category"`
	Urgency         string       `json:"urgency"`
	FailureReason   string       `json:"failure_reason,omitempty"`
	BatchID         string       `json:"batch_id,omitempty"`
	Replies         ReplyOptions `json:"replies"`
	InReplyTo       string       `json:"in_reply_to,omitempty"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`
	// ReceivedReplies are the citizen's replies to the letter (the full view only).
	ReceivedReplies []CitizenMessage `json:"received_replies,omitempty"`
	Notices         []Notice         `json:"notices,omitempty"`
	PrintJobs       []PrintJob       `json:"print_jobs,omitempty"`
	Timeline        []Event          `json:"timeline,omitempty"`
}

// Notice is one SMS or e-mail telling the citizen about the letter.
type Notice struct {
	Channel   string    `json:"channel"`
	Purpose   string    `json:"purpose"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PrintJob is the letter, or a notice of it, on paper.
type PrintJob struct {
	JobID          string `json:"job_id"`
	Purpose        string `json:"purpose"`
	Reason         string `json:"reason"`
	Pages          int    `json:"pages"`
	Outcome        string `json:"outcome"`
	PostalCategory string `json:"postal_category"`
}

// Event is one step of a letter's way (schema Event): the feed's entries, the webhooks' bodies
// and a letter's timeline.
type Event struct {
	ID               string `json:"id"`
	Cursor           string `json:"cursor"`
	Type             string `json:"type"`
	LetterID         string `json:"letter_id,omitempty"`
	MessageID        string `json:"message_id,omitempty"`
	Status           string `json:"status,omitempty"`
	Channel          string `json:"channel,omitempty"`
	Reason           string `json:"reason,omitempty"`
	CitizenMessageID string `json:"citizen_message_id,omitempty"`
	// LegalDeliveryAt: on letter.delivered, the moment the letter arrived in the law's sense.
	LegalDeliveryAt *time.Time `json:"legal_delivery_at,omitempty"`
	At              time.Time  `json:"at"`
}

// ReplyOptions are a letter's answers as the sender decided them (schema ReplyOptions).
type ReplyOptions struct {
	Allowed      bool       `json:"allowed"`
	ReplyBy      *time.Time `json:"reply_by,omitempty"`
	ContactPoint string     `json:"contact_point,omitempty"`
}

// CitizenMessage is a reply to a letter or a message a citizen wrote first (schema
// CitizenMessage); a list leaves out the text.
type CitizenMessage struct {
	ID           string       `json:"id"`
	Kind         string       `json:"kind"`
	LetterID     string       `json:"letter_id,omitempty"`
	ContactPoint string       `json:"contact_point,omitempty"`
	Subject      string       `json:"subject"`
	Text         *string      `json:"text,omitempty"`
	From         *Citizen     `json:"from,omitempty"`
	Attachments  []Attachment `json:"attachments"`
	Handled      bool         `json:"handled"`
	HandledAt    *time.Time   `json:"handled_at,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
	// Answers are the sender's letters in_reply_to it.
	Answers []string `json:"answers,omitempty"`
}

// Citizen is who wrote a reply or message (the full view only): the sender answers them.
type Citizen struct {
	CPR  string `json:"cpr"`
	Name string `json:"name"`
}

// Attachment is a file a citizen attached, fetched by its link.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	Href        string `json:"href"`
}

// MessagePage is a page of the citizens' post to a sender, newest first.
type MessagePage struct {
	Messages   []CitizenMessage `json:"messages"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// LetterPage is a page of a sender's letters, newest first.
type LetterPage struct {
	Letters    []Letter `json:"letters"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// NemSMS is a NemSMS message (schema NemSMS).
type NemSMS struct {
	ID        string    `json:"id"`
	MessageID string    `json:"message_id"`
	Status    string    `json:"status"`
	Text      string    `json:"text"`
	Detail    string    `json:"detail,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// BatchAccepted is the answer to a stored batch.
type BatchAccepted struct {
	BatchID          string `json:"batch_id"`
	Letters          int    `json:"letters"`
	New              int    `json:"new"`
	AlreadySubmitted int    `json:"already_submitted"`
}

// BatchProgress is a batch's letters counted by status.
type BatchProgress struct {
	BatchID   string         `json:"batch_id"`
	Letters   int            `json:"letters"`
	CreatedAt time.Time      `json:"created_at"`
	ByStatus  map[string]int `json:"by_status"`
	// Settled: every letter of the batch has reached a final state.
	Settled bool `json:"settled"`
}

// Preview is what a batch would do (schema Preview); nothing is written.
type Preview struct {
	Letters             int            `json:"letters"`
	Digital             int            `json:"digital"`
	PaperNow            int            `json:"paper_now"`
	PaperReasons        map[string]int `json:"paper_reasons"`
	NoNoticeChannel     int            `json:"no_notice_channel"`
	OpenedShare         float64        `json:"opened_share"`
	OpenedShareBasis    string         `json:"opened_share_basis"`
	ExpectedEscalations int            `json:"expected_escalations"`
	Postage             []Postage      `json:"postage"`
}

// Postage is what a batch's paper letters of one postal category cost.
type Postage struct {
	Category     string `json:"category"`
	PerLetterOre int64  `json:"per_letter_ore"`
	PaperLetters int    `json:"paper_letters"`
	TotalOre     int64  `json:"total_ore"`
	Total        string `json:"total"`
}

// Problem is an error answer, as RFC 9457 describes: application/problem+json.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Errors []ProblemField `json:"errors,omitempty"`
	// LetterID names the letter a conflict or refusal is about.
	LetterID string `json:"letter_id,omitempty"`
}

// ProblemField is one broken rule on one field.
type ProblemField struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}
