package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
)

// While a bulk run keeps both providers booked ahead, an urgent letter's notices still go out
// with its delivery, in the providers' urgent lanes; a bulk letter's give way to the queue.
func TestUrgentLettersNoticesGoOutWithItsDeliveryDuringABulkBacklog(t *testing.T) {
	f := newFixture(t)
	f.acts.Notices = notify.NewService(f.db, f.sms, f.email,
		notify.Rates{SMS: 50, Email: 50, UrgentShare: 0.1})
	ctx := context.Background()
	urgent, _ := f.letterTo(t, anna)
	ben, err := f.acts.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: "020280-1234", Name: "Ben Hansen",
		Address: "Østergade 2\n8000 Aarhus C", Email: "ben@example.dk", Mobile: "+4520000002"})
	if err != nil {
		t.Fatal(err)
	}
	bulk := uuid.New()
	if _, _, err := f.acts.Letters.Create(ctx, letters.Letter{ID: bulk, SenderID: "skat", MessageID: bulk.String(),
		RecipientID: &ben.ID, Subject: "Årsopgørelse", Body: "Din årsopgørelse er klar.", Deadline: time.Hour, Urgency: letters.Bulk}, nil); err != nil {
		t.Fatal(err)
	}
	// The bulk run's booking: both providers' shared lanes taken five seconds ahead.
	if _, err := f.db.Exec(ctx, `UPDATE provider_pace SET next_at = clock_timestamp() + interval '5 seconds' WHERE channel IN ('sms', 'email')`); err != nil {
		t.Fatal(err)
	}

	d, err := f.acts.DeliverAndNotify(ctx, urgent)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []notify.Channel{notify.SMS, notify.Email} {
		if got := d.Notices[ch].Outcome; got != notify.Sent {
			t.Errorf("the urgent letter's %s notice: %q with its delivery, want sent in the urgent lane", ch, got)
		}
	}
	d, err = f.acts.DeliverAndNotify(ctx, bulk)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []notify.Channel{notify.SMS, notify.Email} {
		if out, settled := d.Notices[ch]; settled {
			t.Errorf("the bulk letter's %s notice was settled with its delivery (%q) while its lane was booked; it belongs in the queue", ch, out.Outcome)
		}
	}
	if n, m := len(f.twilio.Messages()), len(f.mail.Mails()); n != 1 || m != 1 {
		t.Errorf("providers got %d SMS and %d e-mails, want the urgent letter's one each", n, m)
	}
}
