// Package activities is where letter workflows touch the world. Each activity is thin:
// it calls a port in internal/… and sorts failures into permanent (a typed, non-retryable
// application error the workflow can branch on) and transient (retried by Temporal).
package activities

import (
	"time"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/telemetry"
)

// Activities holds the ports; the worker builds it once.
type Activities struct {
	Registry  *registry.Registry
	Letters   *letters.Store
	Mailbox   *mailbox.Mailbox
	Notices   *notify.Service
	PrintJobs *print.Jobs
	Printer   print.Provider
	Cases     *exemption.Store
	Access    *access.Store
	// Temporal tells reading access requests of a suspension.
	Temporal access.Signaller
	Recovery Sweeper
	Webhooks *webhooks.Hooks
	NemSMS   *nemsms.Store
	Metrics  *telemetry.Metrics // nil: no metrics
	// Quiet is the night in which no reminder notice goes out (REMINDER_QUIET_HOURS).
	Quiet calendar.QuietHours
	Now   func() time.Time
	// LetterDeadline is the open deadline of letters the engine writes itself (case decisions).
	LetterDeadline time.Duration
}

// Error types a workflow can branch on. Each is non-retryable.
const (
	ErrRecipientUnknown = "RecipientUnknown" // recipient no longer in the registry
	ErrLetterUnknown    = "LetterUnknown"    // no such letter in PostgreSQL
	ErrNoticeRejected   = "NoticeRejected"   // provider refused the number or address for good
	ErrUnprintable      = "Unprintable"      // the letter cannot be rendered or has no postal address
	// ErrRecipientUnreachable: the recipient can no longer receive the letter: deceased,
	// emigrated with no known address, or on paper when the letter is digital-only.
	ErrRecipientUnreachable = "RecipientUnreachable"
)
