package notify

import (
	"testing"

	"digitalpost/internal/infra/store"
)

// The dev outbox keeps what it was asked to send, and shows the newest first: the operator's
// `starter outbox` reads it to see the notices the dev runtime did not send.
func TestOutboxShowsTheNewestNoticesFirst(t *testing.T) {
	db, _ := store.NewTestDB(t)
	o := NewOutbox(db)
	ctx := t.Context()
	for _, n := range []Notice{
		{Channel: SMS, To: "+4512345678", Body: "Du har fået ny post."},
		{Channel: Email, To: "anna@example.dk", Subject: "Ny post", Body: "Du har fået ny post fra Skat."},
	} {
		if _, err := o.Send(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	recent, err := o.Recent(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(recent) != 1 || recent[0].Channel != string(Email) || recent[0].To != "anna@example.dk" || recent[0].At.IsZero() {
		t.Fatalf("the newest of the outbox is %+v, want the e-mail to anna", recent)
	}
	if all, err := o.Recent(ctx, 20); err != nil || len(all) != 2 || all[1].Channel != string(SMS) {
		t.Fatalf("the whole outbox is %+v (%v), want the e-mail, then the SMS", all, err)
	}
}
