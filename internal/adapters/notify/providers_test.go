package notify_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/providerfake"
)

func TestTwilioClientSpeaksToTheLocalAPI(t *testing.T) {
	fake := providerfake.NewTwilio()
	defer fake.Server.Close()
	tw, err := notify.NewTwilio(fake.AccountSID, fake.AuthToken, "DigitalPost", fake.Server.URL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tw.Send(t.Context(), notify.NewPostNotice(uuid.New(), notify.SMS, "+4520000001", "Skattestyrelsen"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.Messages(); len(got) != 1 || got[0].To != "+4520000001" || id == "" {
		t.Fatalf("messages %+v id %q", got, id)
	}
}

func TestTwilioInvalidNumberIsRejectedForGood(t *testing.T) {
	fake := providerfake.NewTwilio()
	defer fake.Server.Close()
	tw, _ := notify.NewTwilio(fake.AccountSID, fake.AuthToken, "DigitalPost", fake.Server.URL, 5*time.Second)
	_, err := tw.Send(t.Context(), notify.NewPostNotice(uuid.New(), notify.SMS, "12", "Skattestyrelsen"))
	if !errors.Is(err, notify.ErrRejected) {
		t.Fatalf("error %v, want ErrRejected", err)
	}
}

func TestTwilioOutageIsADefiniteRetryableFailure(t *testing.T) {
	fake := providerfake.NewTwilio()
	defer fake.Server.Close()
	fake.FailNext(1)
	tw, _ := notify.NewTwilio(fake.AccountSID, fake.AuthToken, "DigitalPost", fake.Server.URL, 5*time.Second)
	_, err := tw.Send(t.Context(), notify.NewPostNotice(uuid.New(), notify.SMS, "+4520000001", "Skattestyrelsen"))
	if !errors.Is(err, notify.ErrNotDelivered) {
		t.Fatalf("error %v, want ErrNotDelivered", err)
	}
}

func TestSendGridClientSpeaksToTheLocalAPI(t *testing.T) {
	fake := providerfake.NewSendGrid()
	defer fake.Server.Close()
	sg := notify.NewSendGrid(fake.APIKey, "no-reply@digitalpost.test", "Digital Post", fake.Server.URL, 5*time.Second)
	id, err := sg.Send(t.Context(), notify.NewPostNotice(uuid.New(), notify.Email, "anna@example.dk", "Skattestyrelsen"))
	if err != nil || id == "" {
		t.Fatalf("id %q err %v", id, err)
	}
	if got := fake.Mails(); len(got) != 1 || got[0].To != "anna@example.dk" || got[0].Subject != "Ny digital post fra Skattestyrelsen" {
		t.Fatalf("mails %+v", got)
	}
	bad := notify.NewSendGrid("wrong", "no-reply@digitalpost.test", "", fake.Server.URL, 5*time.Second)
	if _, err := bad.Send(t.Context(), notify.NewPostNotice(uuid.New(), notify.Email, "anna@example.dk", "X")); err == nil {
		t.Fatal("a 401 from SendGrid was taken as success")
	}
}
