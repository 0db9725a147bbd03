package api_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/testenv"
)

type messageJSON struct {
	ID           string  `json:"id"`
	Kind         string  `json:"kind"`
	LetterID     string  `json:"letter_id"`
	ContactPoint string  `json:"contact_point"`
	Subject      string  `json:"subject"`
	Text         *string `json:"text"`
	Handled      bool    `json:"handled"`
	Attachments  []struct {
		Filename string `json:"filename"`
		Size     int    `json:"size"`
		Href     string `json:"href"`
	} `json:"attachments"`
	Answers []string `json:"answers"`
	From    *struct {
		CPR  string `json:"cpr"`
		Name string `json:"name"`
	} `json:"from"`
}

// Two-way post as a sender lives it over the API: a letter that takes replies, the citizen's
// reply announced to the webhook and fetched with its PDF, an answer in_reply_to it, a message
// written first; another sender sees none of it, and bad input is refused naming the field.
func TestTwoWayPostOverTheAPI(t *testing.T) {
	e := newAPIEnv(t, nil)
	ctx := context.Background()
	post := e.sys.PostOffice.Post
	for _, cp := range []citizenpost.ContactPoint{
		{SenderID: "region-midt", ID: "roentgen", Name: "Aarhus Universitetshospital, Røntgen"},
		{SenderID: "region-midt", ID: "patientkontoret", Name: "Patientkontoret", ForCitizens: true},
	} {
		if err := post.AddContactPoint(ctx, cp); err != nil {
			t.Fatal(err)
		}
	}
	hook := newWebhookReceiver(t)
	var set struct {
		Secret string `json:"secret"`
	}
	e.do(t, e.region, http.MethodPut, "/v1/webhook", "application/json", []byte(`{"url":"`+hook.srv.URL+`/events"}`)).json(t, &set)
	hook.mu.Lock()
	hook.secret = set.Secret
	hook.mu.Unlock()

	// Bad reply options are refused naming the field; nothing is stored.
	before := e.letterCount(t)
	for _, c := range []struct {
		edit  map[string]any
		field string
	}{
		{map[string]any{"reply_by": "2030-01-01T10:00"}, "reply_by"},
		{map[string]any{"replies_allowed": true, "reply_contact_point": "kantinen"}, "reply_contact_point"},
		{map[string]any{"in_reply_to": "not-an-id"}, "in_reply_to"},
		{map[string]any{"in_reply_to": uuid.NewString()}, "in_reply_to"},
	} {
		req := newLetter("bad-"+c.field, annaCPR)
		for k, v := range c.edit {
			req[k] = v
		}
		a := e.postJSON(t, e.region, "/v1/letters", req)
		if a.Status != http.StatusUnprocessableEntity || !problemFields(a.problem(t).Errors).has(c.field, "") {
			t.Errorf("%v: answered %d %s, want 422 naming %s", c.edit, a.Status, a.Body, c.field)
		}
	}
	if after := e.letterCount(t); after != before {
		t.Fatalf("refused letters were stored: %d → %d", before, after)
	}
	if a := e.get(t, e.region, "/v1/messages?kind=letters"); a.Status != http.StatusUnprocessableEntity || !problemFields(a.problem(t).Errors).has("kind", "reply or message") {
		t.Fatalf("kind=letters: %d %s", a.Status, a.Body)
	}

	req := newLetter("svar-1", annaCPR)
	req["replies_allowed"], req["reply_contact_point"] = true, "roentgen"
	var sent letterJSON
	e.postJSON(t, e.region, "/v1/letters", req).json(t, &sent)
	e.waitForStatus(t, e.region, sent.ID, "notified")
	var full struct {
		Replies struct {
			Allowed      bool   `json:"allowed"`
			ContactPoint string `json:"contact_point"`
		} `json:"replies"`
	}
	e.get(t, e.region, "/v1/letters/"+sent.ID).json(t, &full)
	if !full.Replies.Allowed || full.Replies.ContactPoint != "roentgen" {
		t.Fatalf("the letter's reply options read back as %+v", full.Replies)
	}

	// The citizen replies with a PDF (on the page; here through the same desk call).
	pdf, _, err := print.Render(print.Sheet{Subject: "Henvisning", Body: "Henvisning"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	number, err := cpr.Parse(annaCPR)
	if err != nil {
		t.Fatal(err)
	}
	anna, err := e.sys.Registry.CitizenByCPR(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	reply, _, err := e.sys.PostOffice.Reply(ctx, postoffice.CitizenPost{Author: anna.ID, LetterID: mustUUID(t, sent.ID),
		Text: "Jeg kan ikke komme den dag.", Files: []letters.Document{{Filename: "henvisning.pdf", Content: pdf}}, FormKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, "letter.replied at the webhook", func() bool { return hook.has(sent.ID, "letter.replied") })

	var page struct {
		Messages []messageJSON `json:"messages"`
	}
	e.get(t, e.region, "/v1/messages?kind=reply&handled=false").json(t, &page)
	if len(page.Messages) != 1 || page.Messages[0].ID != reply.ID.String() || page.Messages[0].LetterID != sent.ID || page.Messages[0].Text != nil {
		t.Fatalf("GET /v1/messages: %+v", page.Messages)
	}
	var m messageJSON
	e.get(t, e.region, "/v1/messages/"+reply.ID.String()).json(t, &m)
	if m.Kind != "reply" || m.Text == nil || *m.Text != "Jeg kan ikke komme den dag." || m.ContactPoint != "roentgen" || len(m.Attachments) != 1 {
		t.Fatalf("GET /v1/messages/{id}: %+v", m)
	}
	file := e.get(t, e.region, m.Attachments[0].Href)
	if file.Status != http.StatusOK || !bytes.Equal(file.Body, pdf) || file.Header.Get("Content-Disposition") == "" {
		t.Fatalf("the attachment answered %d, %d bytes (want the %d sent), %v", file.Status, len(file.Body), len(pdf), file.Header)
	}
	for _, path := range []string{"/v1/messages/" + reply.ID.String(), m.Attachments[0].Href, "/v1/messages/" + uuid.NewString()} {
		if a := e.get(t, e.skat, path); a.Status != http.StatusNotFound {
			t.Fatalf("another sender GET %s: %d", path, a.Status)
		}
	}
	if a := e.do(t, e.skat, http.MethodPost, "/v1/messages/"+reply.ID.String()+"/handled", "", nil); a.Status != http.StatusNotFound {
		t.Fatalf("another sender marks the reply handled: %d", a.Status)
	}
	var letterWithReplies struct {
		ReceivedReplies []messageJSON `json:"received_replies"`
	}
	e.get(t, e.region, "/v1/letters/"+sent.ID).json(t, &letterWithReplies)
	if len(letterWithReplies.ReceivedReplies) != 1 || letterWithReplies.ReceivedReplies[0].ID != reply.ID.String() {
		t.Fatalf("the letter lists replies %+v", letterWithReplies.ReceivedReplies)
	}

	if m.From == nil || m.From.CPR != annaCPR || m.From.Name != "Anna Jensen" {
		t.Fatalf("the reply's writer reads %+v", m.From)
	}

	// The sender answers the reply with a letter in_reply_to it, to its writer by default.
	answer := newLetter("svar-2", "")
	delete(answer, "recipient_cpr")
	answer["in_reply_to"] = reply.ID.String()
	var ans letterJSON
	if a := e.postJSON(t, e.region, "/v1/letters", answer); a.Status != http.StatusCreated {
		t.Fatalf("the answer: %d %s", a.Status, a.Body)
	} else {
		a.json(t, &ans)
	}
	e.get(t, e.region, "/v1/messages/"+reply.ID.String()).json(t, &m)
	if len(m.Answers) != 1 || m.Answers[0] != ans.ID {
		t.Fatalf("the reply's answers: %v, want [%s]", m.Answers, ans.ID)
	}
	handled := e.do(t, e.region, http.MethodPost, "/v1/messages/"+reply.ID.String()+"/handled", "", nil)
	handled.json(t, &m)
	if handled.Status != http.StatusOK || !m.Handled {
		t.Fatalf("mark handled: %d %s", handled.Status, handled.Body)
	}
	e.get(t, e.region, "/v1/messages?handled=false").json(t, &page)
	if len(page.Messages) != 0 {
		t.Fatalf("unhandled after handling: %+v", page.Messages)
	}

	// A citizen writes first to a contact point open to citizens.
	msg, _, err := e.sys.PostOffice.Write(ctx, postoffice.CitizenPost{Author: anna.ID, SenderID: "region-midt", ContactPoint: "patientkontoret",
		Subject: "Spørgsmål", Text: "Kan jeg få en kopi af min journal?", FormKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, "message.received at the webhook", func() bool { return hook.has("", "message.received") })
	e.get(t, e.region, "/v1/messages?kind=message").json(t, &page)
	if len(page.Messages) != 1 || page.Messages[0].ID != msg.ID.String() || page.Messages[0].LetterID != "" {
		t.Fatalf("messages written first: %+v", page.Messages)
	}
	var feed struct {
		Events []struct {
			Type             string `json:"type"`
			LetterID         string `json:"letter_id"`
			CitizenMessageID string `json:"citizen_message_id"`
		} `json:"events"`
	}
	e.get(t, e.region, "/v1/events?limit=1000").json(t, &feed)
	types := map[string]int{}
	for _, ev := range feed.Events {
		types[ev.Type]++
		if (ev.Type == "letter.replied" || ev.Type == "message.received") && ev.CitizenMessageID == "" {
			t.Fatalf("event %+v names no message", ev)
		}
	}
	if types["letter.replied"] != 1 || types["message.received"] != 1 {
		t.Fatalf("the feed has %v", types)
	}
	e.get(t, e.skat, "/v1/events?limit=1000").json(t, &feed)
	if len(feed.Events) != 0 {
		t.Fatalf("another sender's feed shows %d events", len(feed.Events))
	}
	hook.inFeedOrder(t, e, e.region)

	// The list pages by cursor, newest first: the message, then the reply.
	var first, second struct {
		Messages   []messageJSON `json:"messages"`
		NextCursor string        `json:"next_cursor"`
	}
	e.get(t, e.region, "/v1/messages?limit=1").json(t, &first)
	if len(first.Messages) != 1 || first.Messages[0].ID != msg.ID.String() || first.NextCursor == "" {
		t.Fatalf("first page %+v", first)
	}
	e.get(t, e.region, "/v1/messages?limit=1&cursor="+first.NextCursor).json(t, &second)
	if len(second.Messages) != 1 || second.Messages[0].ID != reply.ID.String() || second.NextCursor != "" {
		t.Fatalf("second page %+v", second)
	}

	// A batch's letters take the batch's reply options (CSV: as query parameters).
	batch := e.do(t, e.region, http.MethodPost, "/v1/batches?replies_allowed=true&reply_contact_point=roentgen", "text/csv",
		[]byte("message_id,to,subject,text\nsvar-batch-1,"+annaCPR+",Partshøring,Tekst\n"))
	if batch.Status != http.StatusAccepted {
		t.Fatalf("batch: %d %s", batch.Status, batch.Body)
	}
	var batched struct {
		Replies struct {
			Allowed      bool   `json:"allowed"`
			ContactPoint string `json:"contact_point"`
		} `json:"replies"`
	}
	e.get(t, e.region, "/v1/letters/"+letters.IDFor("region-midt", "svar-batch-1").String()).json(t, &batched)
	if !batched.Replies.Allowed || batched.Replies.ContactPoint != "roentgen" {
		t.Fatalf("the batch's letter has reply options %+v", batched.Replies)
	}
	if a := e.do(t, e.region, http.MethodPost, "/v1/batches?reply_contact_point=kantinen&replies_allowed=true", "text/csv",
		[]byte("message_id,to,subject,text\nsvar-batch-2,"+annaCPR+",Partshøring,Tekst\n")); a.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a batch to an unknown contact point: %d %s", a.Status, a.Body)
	}
}
