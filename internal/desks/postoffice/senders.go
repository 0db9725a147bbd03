package postoffice

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/domain/apikeys"
	"digitalpost/internal/domain/audit"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/domain/statistics"
)

// What the desk answers senders beside their letters: who a key is, their webhook, their
// NemSMS messages and their look-ups in the registry. The clients (the API, the pages, the
// command line) ask the desk and never the stores behind it, so a rule such as "another
// sender's message is not found" lives here once.

// ErrLookupsOff is a look-up asked of an engine with no audit key: a look-up is recorded
// before it is answered, and nothing can be recorded.
var ErrLookupsOff = errors.New("recipient look-ups are off: they are recorded, and no audit key is set (LOOKUP_AUDIT_KEY or PAYLOAD_KEYS)")

// ErrNoMessage is a NemSMS message that does not exist, or is another sender's.
var ErrNoMessage = nemsms.ErrNoMessage

// SenderOfKey answers whose API key this is (apikeys.ErrInvalid: none's, or revoked).
func (p *PostOffice) SenderOfKey(ctx context.Context, key string) (string, error) {
	return p.Keys.Authenticate(ctx, key)
}

// KeysOf lists a sender's API keys, revoked ones included, without their secrets.
func (p *PostOffice) KeysOf(ctx context.Context, sender string) ([]apikeys.Key, error) {
	return p.Keys.List(ctx, sender)
}

// Sender is a sender as the registry has it (registry.ErrNotFound: no such sender).
func (p *PostOffice) Sender(ctx context.Context, id string) (registry.Sender, error) {
	return p.Registry.Sender(ctx, id)
}

// SetWebhook points the sender's events at a URL, with a new signing secret. The caller
// starts the delivery (StartWebhookDelivery), or leaves it to the recovery sweep.
func (p *PostOffice) SetWebhook(ctx context.Context, sender, url string) (webhooks.Webhook, error) {
	return p.Webhooks.Set(ctx, sender, url)
}

// Webhook is the sender's webhook (webhooks.ErrNone: it has none).
func (p *PostOffice) Webhook(ctx context.Context, sender string) (webhooks.Webhook, error) {
	return p.Webhooks.Get(ctx, sender)
}

// RemoveWebhook stops the sender's webhook; its events stay in the feed.
func (p *PostOffice) RemoveWebhook(ctx context.Context, sender string) error {
	return p.Webhooks.Remove(ctx, sender)
}

// NemSMSMessage is one of the sender's NemSMS messages; another sender's is ErrNoMessage,
// as one that does not exist, so an id tells nothing about other senders.
func (p *PostOffice) NemSMSMessage(ctx context.Context, sender string, id uuid.UUID) (nemsms.Message, error) {
	m, err := p.NemSMS.Message(ctx, id)
	if err == nil && m.SenderID != sender {
		return nemsms.Message{}, ErrNoMessage
	}
	return m, err
}

// ApplyPrintReceipt records what the print house reports of a job it printed (or could not).
func (p *PostOffice) ApplyPrintReceipt(ctx context.Context, r printhouse.Receipt, source string) (printhouse.Effect, error) {
	return p.Receipts.Apply(ctx, r, source)
}

// LookUp answers which way a letter to a citizen would go now, recorded before it is
// answered (ErrRecipientNotFound, recorded too: a look-up of nobody is still a look-up).
func (p *PostOffice) LookUp(ctx context.Context, sender, number string, physicalOnly bool) (letters.Route, error) {
	if p.Lookups == nil {
		return letters.Route{}, ErrLookupsOff
	}
	route, err := p.RecipientRoute(ctx, number, physicalOnly)
	found := !errors.Is(err, ErrRecipientNotFound)
	if err != nil && found {
		return route, err // a malformed number (a field error) looked nobody up
	}
	n, _ := cpr.Parse(number) // RecipientRoute parsed it already
	if rerr := p.Lookups.Record(ctx, sender, n, found); rerr != nil {
		return letters.Route{}, rerr
	}
	return route, err
}

// RecordAnswersAbout records that an answer (a preview, a refusal for who the recipient is)
// told the sender about these citizens. Without an audit key nothing is recorded, as
// look-ups themselves are off.
func (p *PostOffice) RecordAnswersAbout(ctx context.Context, sender string, kind audit.Kind, numbers []string) error {
	if p.Lookups == nil {
		return nil
	}
	var parsed []cpr.Number
	for _, number := range numbers {
		if n, err := cpr.Parse(number); err == nil {
			parsed = append(parsed, n)
		}
	}
	return p.Lookups.RecordAll(ctx, sender, kind, parsed)
}

// SenderStatistics are a sender's own letters in figures: by status and channel, the open
// rate, the time from delivery to opening, the paper share.
func (p *PostOffice) SenderStatistics(ctx context.Context, sender string) (statistics.Sender, error) {
	return p.Statistics.ForSender(ctx, sender)
}

// Population counts the citizens by enrolment and contact details, for the public statistics.
func (p *PostOffice) Population(ctx context.Context) (statistics.Population, error) {
	return p.Statistics.Population(ctx)
}

// Months counts letters and notices per month since from, for the public statistics.
func (p *PostOffice) Months(ctx context.Context, from time.Time) ([]statistics.Month, error) {
	return p.Statistics.Months(ctx, from)
}

// LookupsOn says whether look-ups are answered (an audit key is set).
func (p *PostOffice) LookupsOn() bool { return p.Lookups != nil }
