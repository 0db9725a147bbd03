package web

import (
	"context"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/apikeys"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/domain/statistics"
	"digitalpost/workflows"
)

// Desks are what the pages ask of the engine. Each is a narrow port: a page translates a form
// to a desk's call and the answer back to HTML, and cannot reach around a desk's rules to
// its data (the pages hold no store and no database).
//
// Sessions are the one thing the pages keep of their own: whether a sign-in still stands is
// the pages' state, as a cookie is, not a rule of any desk.
type Desks struct {
	PostOffice     PostOffice
	CitizenService CitizenService
	Sessions       Sessions
}

// PostOffice is the post office's desk as the pages use it: citizens read their mailbox,
// senders sign in with a key and see their dashboard, anyone sees the statistics.
type PostOffice interface {
	MailboxOf(ctx context.Context, owner, reader uuid.UUID, limit int) (postoffice.MailboxView, error)
	Read(ctx context.Context, id, reader uuid.UUID) (postoffice.Reading, error)
	ReadDocument(ctx context.Context, id, reader uuid.UUID, n int) (letters.Document, error)
	Reply(ctx context.Context, in postoffice.CitizenPost) (citizenpost.Message, bool, error)
	Write(ctx context.Context, in postoffice.CitizenPost) (citizenpost.Message, bool, error)
	ContactPointsForCitizens(ctx context.Context) ([]citizenpost.ContactPoint, error)
	SentMessage(ctx context.Context, id, reader uuid.UUID) (postoffice.SentView, error)
	SentAttachment(ctx context.Context, id, reader uuid.UUID, n int) (letters.Document, error)
	SenderStatistics(ctx context.Context, sender string) (statistics.Sender, error)
	statistics.Counter // the public statistics: the population, letters and notices per month
	SenderOfKey(ctx context.Context, key string) (string, error)
	KeysOf(ctx context.Context, sender string) ([]apikeys.Key, error)
	Sender(ctx context.Context, id string) (registry.Sender, error)
}

// CitizenService is the citizen service's desk as the pages use it: caseworkers' cases,
// citizens' reading access, contact details and NemSMS.
type CitizenService interface {
	CitizenByID(ctx context.Context, id uuid.UUID) (registry.Citizen, error)
	CitizenByCPR(ctx context.Context, n cpr.Number) (registry.Citizen, error)
	FirstCitizens(ctx context.Context, n int) ([]registry.Citizen, error)
	RecordSignIn(ctx context.Context, citizen uuid.UUID) error

	Queue(ctx context.Context) ([]borgerservice.QueuedCase, error)
	Apply(ctx context.Context, a borgerservice.Application) (uuid.UUID, error)
	Show(ctx context.Context, id uuid.UUID) (workflows.CaseState, exemption.Case, error)
	PowerOfAttorney(ctx context.Context, id uuid.UUID) (filename string, content []byte, err error)
	VerifyProxy(ctx context.Context, id uuid.UUID, v workflows.ProxyVerification) (workflows.CaseState, error)
	Decide(ctx context.Context, id uuid.UUID, d workflows.Decision) (workflows.CaseState, error)
	Enrol(ctx context.Context, citizenCPR string) (registry.Citizen, error)

	SharingOf(ctx context.Context, citizen uuid.UUID) (borgerservice.Sharing, error)
	RequestReadingAccess(ctx context.Context, delegateCPR, citizenCPR string) (uuid.UUID, error)
	RespondReadingAccess(ctx context.Context, id uuid.UUID, citizenCPR string, accept bool) (access.Status, error)

	UpdateContact(ctx context.Context, citizenCPR string, ch registry.ContactChange) (registry.Citizen, error)
	NemSMSTerms() string
	NemSMSSubscription(ctx context.Context, citizen uuid.UUID) (nemsms.Subscription, error)
	SubscribeNemSMS(ctx context.Context, citizenCPR, acceptedTerms, mobile string) (nemsms.Subscription, error)
	UnsubscribeNemSMS(ctx context.Context, citizenCPR string) error
}

// Sessions are the pages' sign-ins: whether one still stands after its cookie was sealed.
type Sessions interface {
	Open(ctx context.Context, id uuid.UUID, role string, expires time.Time) error
	Standing(ctx context.Context, id uuid.UUID) (bool, error)
	End(ctx context.Context, id uuid.UUID) error
}
