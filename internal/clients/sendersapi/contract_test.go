package sendersapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"digitalpost/internal/clients/api"
	"digitalpost/internal/clients/sendersapi"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/testenv"
)

const annaCPR = "010180-1234"

// contract is the real API in front of the real system, with every request the client makes
// and every answer it reads checked against the OpenAPI document the API serves.
type contract struct {
	sys       *testenv.System
	url       string
	mu        sync.Mutex
	checked   map[string]bool // operations seen, by method and route
	violation []string
}

func newContract(t *testing.T) *contract {
	t.Helper()
	sys := testenv.StartSystem(t)
	ctx := context.Background()
	for _, s := range []registry.Sender{{ID: "region-midt", Organisation: "Region Midtjylland"}, {ID: "skat", Organisation: "Skattestyrelsen"}} {
		if err := sys.Registry.AddSender(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sys.Registry.AddCitizen(ctx, registry.NewCitizen{CPR: annaCPR, Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C",
		Email: "anna@example.dk", Mobile: "+4520000001"}); err != nil {
		t.Fatal(err)
	}
	sys.Config.APIBurst = 1000
	server, err := api.New(sys.Engine.PostOffice, sys.Engine.Config, sys.Engine.Readiness(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	oas, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c := &contract{sys: sys, checked: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		check := func() *http.Request {
			req := r.Clone(r.Context())
			req.Body = io.NopCloser(bytes.NewReader(body))
			return req
		}
		// The validator reads an application/x-ndjson body as one JSON value and refuses a
		// stream of them; a batch's lines are checked by the API, and its answer below.
		ndjson := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-ndjson")
		if ok, verrs := oas.ValidateHttpRequest(check()); !ok && !ndjson {
			for _, v := range verrs {
				c.violate(r.Method + " " + r.URL.Path + ": request: " + v.Message + ": " + v.Reason)
			}
		}
		rec := httptest.NewRecorder()
		r.Body = io.NopCloser(bytes.NewReader(body))
		server.ServeHTTP(rec, r)
		resp := rec.Result()
		if ok, verrs := oas.ValidateHttpResponse(check(), resp); !ok {
			for _, v := range verrs {
				c.violate(r.Method + " " + r.URL.Path + ": answer " + resp.Status + ": " + v.Message + ": " + v.Reason)
			}
		}
		c.mu.Lock()
		c.checked[r.Method+" "+r.URL.Path] = true
		c.mu.Unlock()
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, v := range c.violation {
			t.Errorf("does not match the OpenAPI document: %s", v)
		}
	})
	return c
}

func (c *contract) violate(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.violation = append(c.violation, s)
}

func (c *contract) client(t *testing.T, sender string) *sendersapi.Client {
	t.Helper()
	_, key, err := c.sys.APIKeys.Create(context.Background(), sender)
	if err != nil {
		t.Fatal(err)
	}
	return sendersapi.New(c.url, key)
}

// The command line's client speaks the contract: every call it makes, answered or refused,
// matches the OpenAPI document, and what it reads back is what it sent.
func TestTheCommandLineSpeaksTheContract(t *testing.T) {
	t.Parallel()
	c := newContract(t)
	ctx := context.Background()
	region, skat := c.client(t, "region-midt"), c.client(t, "skat")
	if _, err := c.sys.Desk.SubscribeNemSMS(ctx, annaCPR, c.sys.NemSMS.Terms, ""); err != nil {
		t.Fatal(err)
	}

	appointment := time.Now().Add(14 * 24 * time.Hour).UTC().Truncate(time.Minute)
	letter := sendersapi.LetterRequest{MessageID: "m-1", RecipientCPR: annaCPR, Subject: "Indkaldelse", Text: "Du er indkaldt.",
		AppointmentAt: appointment.Format(time.RFC3339), Deadline: "3wd"}
	sent, err := region.SendLetter(ctx, letter)
	if err != nil || sent.Duplicate || sent.MessageID != "m-1" || sent.Subject != "Indkaldelse" || sent.Urgency != "urgent" {
		t.Fatalf("send: %+v %v", sent, err)
	}
	again, err := region.SendLetter(ctx, letter)
	if err != nil || !again.Duplicate || again.ID != sent.ID {
		t.Fatalf("the same message id again: %+v %v, want the same letter, marked a duplicate", again, err)
	}

	testenv.Eventually(t, 30*time.Second, "the letter notified", func() bool {
		l, err := region.Letter(ctx, sent.ID)
		return err == nil && l.Status == "notified" && len(l.Notices) == 2 && len(l.Timeline) > 0
	})
	page, err := region.Letters(ctx, "notified", 10, "")
	if err != nil || len(page.Letters) != 1 || page.Letters[0].ID != sent.ID {
		t.Fatalf("list: %+v %v", page, err)
	}

	moved := appointment.Add(24 * time.Hour)
	l, err := region.MoveAppointment(ctx, sent.ID, moved.Format(time.RFC3339))
	if err != nil || l.AppointmentAt == nil || !l.AppointmentAt.Equal(moved) {
		t.Fatalf("move the appointment: %+v %v", l, err)
	}
	if l, err = region.Withdraw(ctx, sent.ID, "sent by mistake"); err != nil || l.Status != "withdrawn" {
		t.Fatalf("withdraw: %+v %v", l, err)
	}

	// Another sender's letter does not exist for this key.
	if _, err := skat.Letter(ctx, sent.ID); !sendersapi.IsNotFound(err) {
		t.Fatalf("another sender's letter: %v, want 404", err)
	}
	if _, err := skat.Withdraw(ctx, sent.ID, "not mine"); !sendersapi.IsNotFound(err) {
		t.Fatalf("withdraw another sender's letter: %v, want 404", err)
	}

	// Bad input comes back as the fields and rules it broke, and nothing is written.
	_, err = region.SendLetter(ctx, sendersapi.LetterRequest{MessageID: "m-2", RecipientCPR: "not a cpr", Subject: ""})
	var problem *sendersapi.Problem
	if !errors.As(err, &problem) || !problem.Refused() || len(fielderr.Fields(err)) < 2 {
		t.Fatalf("a letter with no subject to no CPR number: %v, want a refusal naming each field", err)
	}

	m, err := region.SendNemSMS(ctx, "n-1", annaCPR, "Din tid er flyttet til tirsdag.")
	if err != nil || m.Duplicate || m.MessageID != "n-1" {
		t.Fatalf("NemSMS: %+v %v", m, err)
	}
	if got, err := region.NemSMSMessage(ctx, m.ID); err != nil || got.ID != m.ID {
		t.Fatalf("the NemSMS message: %+v %v", got, err)
	}

	run := []sendersapi.LetterRequest{
		{MessageID: "b-1", RecipientCPR: annaCPR, Subject: "Til alle", Text: "Tekst"},
		{MessageID: "b-2", RecipientCPR: annaCPR, Subject: "Til alle", Text: "Tekst", DigitalOnly: true},
	}
	pv, err := region.PreviewBatch(ctx, run, sendersapi.BatchOptions{Deadline: "72h"})
	if err != nil || pv.Letters != 2 || pv.Digital != 2 {
		t.Fatalf("preview: %+v %v", pv, err)
	}
	b, err := region.SubmitBatch(ctx, run, sendersapi.BatchOptions{Deadline: "72h", Urgency: "bulk"})
	if err != nil || b.Letters != 2 || b.New != 2 {
		t.Fatalf("batch: %+v %v", b, err)
	}
	testenv.Eventually(t, 30*time.Second, "the batch's letters on their way", func() bool {
		p, err := region.BatchProgress(ctx, b.BatchID)
		return err == nil && p.Letters == 2 && p.ByStatus["received"] == 0
	})
	if again, err := region.SubmitBatch(ctx, run, sendersapi.BatchOptions{}); err != nil || again.AlreadySubmitted != 2 {
		t.Fatalf("the same batch again: %+v %v, want both already submitted", again, err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for _, op := range []string{"POST /v1/letters", "GET /v1/letters", "GET /v1/letters/" + sent.ID, "POST /v1/letters/" + sent.ID + "/withdraw",
		"POST /v1/letters/" + sent.ID + "/appointment", "POST /v1/nemsms", "GET /v1/nemsms/" + m.ID, "POST /v1/batches", "GET /v1/batches/" + b.BatchID} {
		if !c.checked[op] {
			t.Errorf("%s was never checked against the document", op)
		}
	}
}
