package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"digitalpost/internal/adapters/providerfake"
	"digitalpost/internal/infra/testenv"
)

// A notice the provider refuses is an event of its letter, letter.notice_failed, with the
// channel and a reason code, never the number the provider's refusal quotes (issue 26, item 7).
func TestARefusedNoticeIsAnEventWithoutTheNumber(t *testing.T) {
	e := newAPIEnv(t, nil)
	e.sys.Twilio.SetOutage(providerfake.Outage{Status: http.StatusBadRequest}) // "The 'To' number +45… is not a valid phone number."
	t.Cleanup(e.sys.Twilio.ClearOutage)
	var l letterJSON
	e.postJSON(t, e.region, "/v1/letters", newLetter("refused-sms", annaCPR)).json(t, &l)
	type event struct {
		Type    string `json:"type"`
		Status  string `json:"status"`
		Channel string `json:"channel"`
		Reason  string `json:"reason"`
	}
	var failed []event
	var body string
	testenv.Eventually(t, 60*time.Second, "letter.notice_failed in the feed", func() bool {
		a := e.get(t, e.region, "/v1/events?limit=1000")
		var page struct {
			Events []event `json:"events"`
		}
		a.json(t, &page)
		body, failed = string(a.Body), nil
		for _, ev := range page.Events {
			if ev.Type == "letter.notice_failed" {
				failed = append(failed, ev)
			}
		}
		return len(failed) > 0
	})
	if len(failed) != 1 || failed[0].Channel != "sms" || failed[0].Reason != "rejected:new-post" || failed[0].Status != "" {
		t.Fatalf("notice_failed events %+v", failed)
	}
	if strings.Contains(body, "+4520000001") || strings.Contains(body, "20000001") {
		t.Fatal("the feed carries the citizen's number")
	}
	// The e-mail went out: the letter is notified all the same.
	e.waitForStatus(t, e.region, l.ID, "notified")
}
