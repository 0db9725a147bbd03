package api

import (
	"digitalpost/internal/clients/api/wire"

	"errors"
	"net/http"
	"strconv"
	"time"

	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/audit"
	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/fielderr"
)

type eventPage struct {
	Events []wire.Event `json:"events"`
	// NextCursor is where to go on from: the last event's cursor, or the one given when
	// there was nothing new. Always set, so a client can poll with it.
	NextCursor string `json:"next_cursor"`
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := events.ParseCursor(q.Get("after"))
	if err != nil {
		badInput(w, &fielderr.Error{Field: "after", Rule: err.Error()})
		return
	}
	limit := events.MaxPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > events.MaxPage {
			badInput(w, &fielderr.Error{Field: "limit", Rule: "must be a whole number from 1 to 1000"})
			return
		}
		limit = n
	}
	evs, err := s.desk.Feed(r.Context(), senderOf(r), after, limit)
	if err != nil {
		serverError(w, r, err)
		return
	}
	out := eventPage{Events: make([]wire.Event, 0, len(evs)), NextCursor: after.String()}
	for _, e := range evs {
		out.Events = append(out.Events, eventView(e))
		out.NextCursor = e.Cursor.String()
	}
	writeJSON(w, http.StatusOK, out)
}

type webhookRequest struct {
	URL string `json:"url"`
}

type webhookJSON struct {
	URL string `json:"url"`
	// Secret is shown once, when the webhook is set: verify each call's webhook-signature with it.
	Secret        string        `json:"secret,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
	Delivered     int64         `json:"delivered"`
	Attempts      int           `json:"attempts"`
	FailingSince  *time.Time    `json:"failing_since,omitempty"`
	LastAttemptAt *time.Time    `json:"last_attempt_at,omitempty"`
	LastError     string        `json:"last_error,omitempty"`
	Failures      []failureJSON `json:"failures"`
}

type failureJSON struct {
	EventID  string    `json:"event_id"`
	LetterID string    `json:"letter_id,omitempty"`
	Type     string    `json:"type"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
	FailedAt time.Time `json:"failed_at"`
}

func webhookView(h webhooks.Webhook) webhookJSON {
	v := webhookJSON{URL: h.URL, Secret: h.Secret, CreatedAt: h.CreatedAt.UTC(), Delivered: h.Delivered, Attempts: h.Attempts,
		FailingSince: h.FailingSince, LastAttemptAt: h.LastAttemptAt, LastError: h.LastError, Failures: []failureJSON{}}
	for _, f := range h.Failures {
		v.Failures = append(v.Failures, failureJSON{EventID: f.EventID, LetterID: f.LetterID, Type: f.Type(),
			Attempts: f.Attempts, Error: f.Error, FailedAt: f.FailedAt.UTC()})
	}
	return v
}

// setWebhook sets the sender's webhook URL and answers with a new signing secret, once.
func (s *Server) setWebhook(w http.ResponseWriter, r *http.Request) {
	var req webhookRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	hook, err := s.desk.SetWebhook(r.Context(), senderOf(r), req.URL)
	if badInput(w, err) {
		return
	}
	if err != nil {
		serverError(w, r, err)
		return
	}
	// The sweep would start it within a minute; starting it now makes the first event prompt.
	if err := s.desk.StartWebhookDelivery(r.Context(), senderOf(r)); err != nil {
		logFrom(r).Warn("webhook delivery start left to the recovery sweep", "error", err)
	}
	writeJSON(w, http.StatusOK, webhookView(hook))
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	hook, err := s.desk.Webhook(r.Context(), senderOf(r))
	switch {
	case errors.Is(err, webhooks.ErrNone):
		notFound(w, "webhook")
	case err != nil:
		serverError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, webhookView(hook))
	}
}

func (s *Server) removeWebhook(w http.ResponseWriter, r *http.Request) {
	err := s.desk.RemoveWebhook(r.Context(), senderOf(r))
	switch {
	case errors.Is(err, webhooks.ErrNone):
		notFound(w, "webhook")
	case err != nil:
		serverError(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

type lookupRequest struct {
	RecipientCPR string `json:"recipient_cpr"`
	PhysicalOnly bool   `json:"physical_only"`
}

type lookupJSON struct {
	Channel string `json:"channel"`
	// Reason is why, as a code (digital, physical_only, under_15, exempt, emigrated, deceased,
	// no_address) and in words. Nothing more: no dates, no contact channels, no sign-ins. A
	// look-up is for choosing how to send, not for reading the population registry.
	Reason      string `json:"reason"`
	Explanation string `json:"explanation"`
}

// answersAboutCitizens counts an answer that tells the sender about citizens (a preview, a
// refusal for who the recipient is) as one look-up, and records each citizen it names; false
// when the sender has no look-up left (429, and the answer is not given) or recording failed.
func (s *Server) answersAboutCitizens(w http.ResponseWriter, r *http.Request, kind audit.Kind, numbers []string) bool {
	if !s.allowFrom(w, s.lookupLimits, senderOf(r), "answers about citizens (look-ups, previews, refusals for who the recipient is)", "LOOKUP_RATE_PER_SECOND") {
		return false
	}
	if err := s.desk.RecordAnswersAbout(r.Context(), senderOf(r), kind, numbers); err != nil {
		serverError(w, r, err)
		return false
	}
	return true
}

// lookupRecipient answers which channel a letter to a citizen would take now. The CPR
// number travels in the body, never in a URL, where proxies and logs would keep it. Look-ups
// have their own, lower rate (LOOKUP_RATE_PER_SECOND), and each is recorded (internal/domain/audit)
// before it is answered.
func (s *Server) lookupRecipient(w http.ResponseWriter, r *http.Request) {
	var req lookupRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if !s.desk.LookupsOn() {
		writeProblem(w, Problem{Type: problemBase + "unavailable", Status: http.StatusServiceUnavailable,
			Title: postoffice.ErrLookupsOff.Error()})
		return
	}
	if !s.allowFrom(w, s.lookupLimits, senderOf(r), "look-ups", "LOOKUP_RATE_PER_SECOND") {
		return
	}
	route, err := s.desk.LookUp(r.Context(), senderOf(r), req.RecipientCPR, req.PhysicalOnly)
	if badInput(w, err) {
		return // a malformed number looked nobody up
	}
	found := !errors.Is(err, postoffice.ErrRecipientNotFound)
	if err != nil && found {
		serverError(w, r, err)
		return
	}
	if !found {
		notFound(w, "recipient")
		return
	}
	channel := string(route.Channel)
	if route.Undeliverable() {
		channel = "none" // a letter would be refused
	}
	writeJSON(w, http.StatusOK, lookupJSON{Channel: channel, Reason: route.Code, Explanation: route.Reason})
}
