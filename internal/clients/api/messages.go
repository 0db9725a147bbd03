package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"digitalpost/internal/clients/api/wire"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/fielderr"
)

// The citizens' post to a sender: replies to its letters and messages written first to its
// contact points. Each one is announced in the feed (letter.replied, message.received) and
// fetched here; the sender marks it handled when it has dealt with it.

func messageSummary(m citizenpost.Message) wire.CitizenMessage {
	v := wire.CitizenMessage{ID: m.ID.String(), Kind: m.Kind(), ContactPoint: m.ContactPoint, Subject: m.Subject,
		Handled: m.HandledAt != nil, CreatedAt: m.CreatedAt.UTC(), Attachments: []wire.Attachment{}}
	if m.LetterID != nil {
		v.LetterID = m.LetterID.String()
	}
	if m.HandledAt != nil {
		at := m.HandledAt.UTC()
		v.HandledAt = &at
	}
	for i, a := range m.Attachments {
		v.Attachments = append(v.Attachments, wire.Attachment{Filename: a.Filename, ContentType: a.ContentType, Size: a.Size,
			Href: fmt.Sprintf("/v1/messages/%s/attachments/%d", m.ID, i+1)})
	}
	return v
}

// messageView is the whole message: its text, its writer (the sender answers them) and the
// letters that answer it.
func messageView(m postoffice.ReceivedMessage) wire.CitizenMessage {
	v := messageSummary(m.Message)
	text := m.Body
	v.Text = &text
	if m.From != nil {
		v.From = &wire.Citizen{CPR: m.From.CPR.Dashed(), Name: m.From.Name}
	}
	for _, id := range m.Answers {
		v.Answers = append(v.Answers, id.String())
	}
	return v
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := citizenpost.Filter{SenderID: senderOf(r), Kind: q.Get("kind"), ContactPoint: q.Get("contact_point"), Limit: 100}
	var errs fielderr.List
	if f.Kind != "" && f.Kind != citizenpost.KindReply && f.Kind != citizenpost.KindMessage {
		errs.Add("kind", "must be reply or message")
	}
	if v := q.Get("handled"); v != "" {
		handled, err := strconv.ParseBool(v)
		if err != nil {
			errs.Add("handled", "must be true or false")
		}
		f.Handled = &handled
	}
	if v := q.Get("letter_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			errs.Add("letter_id", "must be a letter id")
		}
		f.LetterID = &id
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			errs.Add("limit", "must be a whole number from 1 to 1000")
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		at, id, err := parsePageCursor(v)
		if err != nil {
			errs.Add("cursor", "is not a cursor from this list (use next_cursor of the previous page)")
		}
		f.After = &citizenpost.PageKey{CreatedAt: at, ID: id}
	}
	if badInput(w, errs.Err()) {
		return
	}
	page, err := s.desk.Messages(r.Context(), f)
	if err != nil {
		serverError(w, r, err)
		return
	}
	out := wire.MessagePage{Messages: make([]wire.CitizenMessage, 0, len(page.Messages))}
	for _, m := range page.Messages {
		out.Messages = append(out.Messages, messageSummary(m))
	}
	if page.Next != nil {
		out.NextCursor = pageCursor(page.Next.CreatedAt, page.Next.ID)
	}
	writeJSON(w, http.StatusOK, out)
}

// message answers one of the sender's messages, or 404 for any other id.
func (s *Server) message(w http.ResponseWriter, r *http.Request) (postoffice.ReceivedMessage, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		notFound(w, "message")
		return postoffice.ReceivedMessage{}, false
	}
	m, err := s.desk.Message(r.Context(), senderOf(r), id)
	switch {
	case errors.Is(err, citizenpost.ErrNotFound):
		notFound(w, "message")
		return m, false
	case err != nil:
		serverError(w, r, err)
		return m, false
	}
	return m, true
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) {
	if m, ok := s.message(w, r); ok {
		writeJSON(w, http.StatusOK, messageView(m))
	}
}

// getAttachment hands out a file a citizen attached. It is served as a download whatever it
// claims to be, so it can never run as a page of this origin.
func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request) {
	m, ok := s.message(w, r)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > len(m.Attachments) {
		notFound(w, "attachment")
		return
	}
	doc, err := s.desk.MessageAttachment(r.Context(), senderOf(r), m.ID, n)
	if err != nil {
		serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", doc.ContentType)
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", doc.Filename))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(doc.Content)
}

func (s *Server) markHandled(w http.ResponseWriter, r *http.Request) {
	m, ok := s.message(w, r)
	if !ok {
		return
	}
	if err := s.desk.MarkHandled(r.Context(), senderOf(r), m.ID); err != nil {
		serverError(w, r, err)
		return
	}
	if m, ok = s.message(w, r); ok {
		writeJSON(w, http.StatusOK, messageView(m))
	}
}
