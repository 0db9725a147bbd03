package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"digitalpost/activities"
	"digitalpost/internal/adapters/providerfake"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/testenv"
)

func smsTo(s *testenv.System, to, words string) []providerfake.SMS {
	var out []providerfake.SMS
	for _, m := range s.Twilio.Messages() {
		if m.To == to && strings.Contains(m.Body, words) {
			out = append(out, m)
		}
	}
	return out
}

func TestNemSMSSubscriptionMessagesAndAppointmentReminders(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	ctx := context.Background()
	terms := s.NemSMS.Terms
	if _, err := s.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: exemptCPR, Name: "Erik Andersen", Exempt: true, Mobile: "+4520000005"}); err != nil {
		t.Fatal(err)
	}

	// New-post notices by SMS are no NemSMS sign-up: Anna gets none before she subscribes.
	_, err := s.PostOffice.SendNemSMS(ctx, postoffice.NemSMSSubmission{SenderID: "region-midt", RecipientCPR: annaCPR, Text: "Din tid er bekræftet."})
	wantFields(t, "NemSMS before a sign-up", err, "to", "not signed up for NemSMS")

	_, err = s.Desk.SubscribeNemSMS(ctx, annaCPR, "0.9", "")
	wantFields(t, "old terms", err, "accept-terms", terms)
	_, err = s.Desk.SubscribeNemSMS(ctx, annaCPR, terms, "+46701234567")
	wantFields(t, "a Swedish number", err, "mobile", "Danish numbers only")
	_, err = s.Desk.SubscribeNemSMS(ctx, boCPR, terms, "")
	wantFields(t, "no number at all", err, "mobile", "no mobile number")
	sub, err := s.Desk.SubscribeNemSMS(ctx, annaCPR, terms, "")
	if err != nil || sub.Mobile != "+4520000001" || sub.TermsVersion != terms || sub.AcceptedAt.IsZero() {
		t.Fatalf("subscription %+v %v, want Anna's Digital Post mobile and the terms she accepted", sub, err)
	}
	if _, err := s.Desk.SubscribeNemSMS(ctx, exemptCPR, terms, ""); err != nil {
		t.Fatalf("an exempt citizen may use NemSMS: %v", err)
	}

	_, err = s.PostOffice.SendNemSMS(ctx, postoffice.NemSMSSubmission{SenderID: "region-midt", RecipientCPR: annaCPR, Text: strings.Repeat("x", 161)})
	wantFields(t, "two SMS worth", err, "text", "at most 160 GSM characters")
	// 80 characters is one SMS only in GSM: one "ő" makes the phone send it as UCS-2, 70 a message.
	_, err = s.PostOffice.SendNemSMS(ctx, postoffice.NemSMSSubmission{SenderID: "region-midt", RecipientCPR: annaCPR, Text: "Hilsen fra Sőren: " + strings.Repeat("x", 62)})
	wantFields(t, "two SMS on the phone", err, "text", "'ő' is not in the GSM alphabet")
	_, err = s.PostOffice.SendNemSMS(ctx, postoffice.NemSMSSubmission{SenderID: "region-midt", RecipientCPR: annaCPR, Text: "Svar vedr. 010180-1234 er klar"})
	wantFields(t, "a CPR number", err, "text", "CPR number")
	r, err := s.PostOffice.SendNemSMS(ctx, postoffice.NemSMSSubmission{SenderID: "region-midt", MessageID: "tid-1", RecipientCPR: annaCPR,
		Text: "Din tid på Skejby er bekræftet."})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "NemSMS sent", func() bool {
		m, err := s.NemSMS.Message(ctx, r.Message.ID)
		return err == nil && m.Status == "sent"
	})
	if got := smsTo(s, "+4520000001", "Din tid på Skejby"); len(got) != 1 {
		t.Fatalf("%d NemSMS messages at the provider, want 1", len(got))
	}
	again, err := s.PostOffice.SendNemSMS(ctx, postoffice.NemSMSSubmission{SenderID: "region-midt", MessageID: "tid-1", RecipientCPR: annaCPR,
		Text: "Din tid på Skejby er bekræftet."})
	if err != nil || !again.Duplicate {
		t.Fatalf("the same message id again: %+v %v", again, err)
	}

	// A message stored by a sender whose process died before the start is started by the sweep.
	anna, _ := s.Registry.CitizenByCPR(ctx, mustCPR(annaCPR))
	orphan := nemsms.IDFor("region-midt", "orphan")
	if _, err := s.DB.Exec(ctx, `INSERT INTO nemsms_messages (id, sender_id, message_id, citizen_id, body, created_at)
		VALUES ($1, 'region-midt', 'orphan', $2, 'Husk at tage medicinlisten med.', now() - interval '5 minutes')`, orphan, anna.ID); err != nil {
		t.Fatal(err)
	}
	report, err := s.Activities.Recovery.Sweep(ctx, func(activities.SweepReport) {})
	if err != nil || report.NemSMS != 1 {
		t.Fatalf("sweep %+v %v, want one NemSMS message started", report, err)
	}
	testenv.Eventually(t, 20*time.Second, "orphaned NemSMS sent", func() bool {
		m, err := s.NemSMS.Message(ctx, orphan)
		return err == nil && m.Status == "sent"
	})

	// A letter with an appointment: the NemSMS reminder goes out before it, to the NemSMS number.
	s.PostOffice.AppointmentReminder = 3 * time.Second
	at := time.Now().Add(6 * time.Second)
	letter, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Indkaldelse",
		Body: "Du er indkaldt.", AppointmentAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "appointment reminder", func() bool { return len(smsTo(s, "+4520000001", "Du har en aftale")) == 1 })
	sent := time.Now()
	if early := at.Add(-3 * time.Second).Add(-time.Second); sent.Before(early) {
		t.Fatalf("reminder at %s, before its time %s", sent, at.Add(-3*time.Second))
	}
	if len(smsTo(s, "+4520000001", "Indkaldelse")) != 0 {
		t.Fatal("the reminder carries the letter's subject")
	}
	// Moved after its reminder went out: the new time is recorded, and no second reminder follows.
	movedTo := time.Now().Add(4 * time.Second)
	if _, err := s.PostOffice.MoveAppointment(ctx, letter.LetterID, movedTo.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	// The letter says it will send no second reminder: the move found its reminder sent.
	testenv.Eventually(t, 20*time.Second, "the late move noted", func() bool {
		st, err := s.PostOffice.Status(ctx, letter.LetterID)
		return err == nil && hasTimelineNote(st, "its reminder had already been sent")
	})
	// And none comes: wait until a second one would have been due (3 s before the moved time),
	// with a second to spare. The wait is the point here: absence until a known moment.
	time.Sleep(time.Until(movedTo.Add(-3*time.Second)) + time.Second)
	if n := len(smsTo(s, "+4520000001", "Du har en aftale")); n != 1 {
		t.Fatalf("%d appointment reminders after a late move, want still 1", n)
	}
}
