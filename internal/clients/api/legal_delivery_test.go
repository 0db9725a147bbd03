package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A digital letter has arrived when it is in the mailbox, opened or not (Lov om Digital Post
// § 10): the API shows that moment on the letter and on its delivered event, and a letter
// withdrawn after it is recorded as withdrawn after arrival, to the sender too (issue 26, 1).
func TestLegalDeliveryIsShownAndAWithdrawalAfterItSaysSo(t *testing.T) {
	e := newAPIEnv(t, nil)
	ctx := context.Background()
	var l struct {
		ID              string     `json:"id"`
		Status          string     `json:"status"`
		FailureReason   string     `json:"failure_reason"`
		LegalDeliveryAt *time.Time `json:"legal_delivery_at"`
		Timeline        []struct {
			Type            string     `json:"type"`
			Reason          string     `json:"reason"`
			LegalDeliveryAt *time.Time `json:"legal_delivery_at"`
		} `json:"timeline"`
	}
	e.postJSON(t, e.region, "/v1/letters", newLetter("arrival-1", annaCPR)).json(t, &l)
	if l.LegalDeliveryAt != nil {
		t.Fatalf("a letter just received has legal delivery %v", l.LegalDeliveryAt)
	}
	e.waitForStatus(t, e.region, l.ID, "notified")
	e.get(t, e.region, "/v1/letters/"+l.ID).json(t, &l)
	var inMailbox time.Time
	if err := e.sys.DB.QueryRow(ctx, `SELECT delivered_at FROM mailbox_entries WHERE letter_id = $1`, l.ID).Scan(&inMailbox); err != nil {
		t.Fatal(err)
	}
	if l.LegalDeliveryAt == nil || !l.LegalDeliveryAt.Equal(inMailbox.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("legal_delivery_at %v, the mailbox has it from %v", l.LegalDeliveryAt, inMailbox)
	}
	delivered := 0
	for _, ev := range l.Timeline {
		if ev.Type == "letter.delivered" {
			delivered++
			if ev.LegalDeliveryAt == nil || !ev.LegalDeliveryAt.Equal(*l.LegalDeliveryAt) {
				t.Fatalf("letter.delivered carries legal_delivery_at %v, want %v", ev.LegalDeliveryAt, l.LegalDeliveryAt)
			}
		} else if ev.LegalDeliveryAt != nil {
			t.Fatalf("%s carries legal_delivery_at", ev.Type)
		}
	}
	if delivered != 1 {
		t.Fatalf("%d letter.delivered events", delivered)
	}

	a := e.postJSON(t, e.region, "/v1/letters/"+l.ID+"/withdraw", map[string]any{"reason": "sendt ved en fejl"})
	if a.Status != http.StatusOK {
		t.Fatalf("withdraw: %d %s", a.Status, a.Body)
	}
	e.waitForStatus(t, e.region, l.ID, "withdrawn")
	e.get(t, e.region, "/v1/letters/"+l.ID).json(t, &l)
	if !strings.Contains(l.FailureReason, "withdrawn after arrival") || l.LegalDeliveryAt == nil {
		t.Fatalf("a letter withdrawn after it arrived reads %q, legal delivery %v", l.FailureReason, l.LegalDeliveryAt)
	}
	if last := l.Timeline[len(l.Timeline)-1]; last.Type != "letter.withdrawn" || !strings.Contains(last.Reason, "withdrawn after arrival") {
		t.Fatalf("the withdrawal event %+v does not say the letter had arrived", last)
	}
}
