package api

import (
	"context"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/audit"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/dossier"
	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/workflows"
)

// PostOffice is what the senders' API asks of the post office's desk. Every rule and every
// answer is the desk's; the API translates HTTP to calls and answers back, and holds nothing
// else of the engine: no store, no database.
type PostOffice interface {
	SenderOfKey(ctx context.Context, key string) (string, error)

	Submit(ctx context.Context, s postoffice.Submission) (postoffice.Receipt, error)
	Withdraw(ctx context.Context, id uuid.UUID, reason string) (workflows.LetterState, error)
	MoveAppointment(ctx context.Context, id uuid.UUID, spec string) (time.Time, error)
	SendersLetter(ctx context.Context, sender string, id uuid.UUID) (letters.Letter, error)
	ReportFor(ctx context.Context, sender string, id uuid.UUID) (postoffice.Report, error)
	Page(ctx context.Context, f letters.SenderFilter) (letters.Page, error)
	Dossier(ctx context.Context, sender string, id uuid.UUID, asPDF bool) ([]byte, error)
	DossierKeys() []dossier.PublicKey

	PreviewBulk(ctx context.Context, subs []postoffice.Submission, prices postoffice.PostagePrices, defaultOpened float64) (postoffice.Preview, error)
	StoreBulk(ctx context.Context, subs []postoffice.Submission, batch *letters.Batch) ([]postoffice.Receipt, []letters.Letter, error)
	StartBulk(ctx context.Context, all []letters.Letter, o postoffice.BulkOptions) error
	BatchProgress(ctx context.Context, sender string, id uuid.UUID) (letters.Batch, map[letters.Status]int, error)

	SendNemSMS(ctx context.Context, s postoffice.NemSMSSubmission) (postoffice.NemSMSReceipt, error)
	NemSMSMessage(ctx context.Context, sender string, id uuid.UUID) (nemsms.Message, error)

	Messages(ctx context.Context, f citizenpost.Filter) (citizenpost.Page, error)
	Message(ctx context.Context, sender string, id uuid.UUID) (postoffice.ReceivedMessage, error)
	MessageAttachment(ctx context.Context, sender string, id uuid.UUID, n int) (letters.Document, error)
	MarkHandled(ctx context.Context, sender string, id uuid.UUID) error

	Feed(ctx context.Context, sender string, after events.Cursor, limit int) ([]events.Event, error)
	SetWebhook(ctx context.Context, sender, url string) (webhooks.Webhook, error)
	Webhook(ctx context.Context, sender string) (webhooks.Webhook, error)
	RemoveWebhook(ctx context.Context, sender string) error
	StartWebhookDelivery(ctx context.Context, sender string) error

	LookupsOn() bool
	LookUp(ctx context.Context, sender, number string, physicalOnly bool) (letters.Route, error)
	RecordAnswersAbout(ctx context.Context, sender string, kind audit.Kind, numbers []string) error

	ApplyPrintReceipt(ctx context.Context, r printhouse.Receipt, source string) (printhouse.Effect, error)
}
