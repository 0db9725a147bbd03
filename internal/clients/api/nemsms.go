package api

import (
	"digitalpost/internal/clients/api/wire"

	"errors"
	"net/http"

	"github.com/google/uuid"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/audit"
	"digitalpost/internal/domain/nemsms"
)

type nemsmsRequest struct {
	MessageID    string `json:"message_id"`
	RecipientCPR string `json:"recipient_cpr"`
	Text         string `json:"text"`
}

func nemsmsView(m nemsms.Message) wire.NemSMS {
	return wire.NemSMS{ID: m.ID.String(), MessageID: m.MessageID, Status: m.Status, Text: m.Body, Detail: m.Detail, CreatedAt: m.CreatedAt.UTC()}
}

// sendNemSMS takes a NemSMS message under the post office's rules: one SMS of text, nothing
// sensitive, to a citizen who signed up; 201 new, 200 the same message again.
func (s *Server) sendNemSMS(w http.ResponseWriter, r *http.Request) {
	var req nemsmsRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.MessageID == "" {
		malformed(w, "message_id", "is required: your own id for the message, so that sending it again sends nothing twice")
		return
	}
	res, err := s.desk.SendNemSMS(r.Context(), postoffice.NemSMSSubmission{SenderID: senderOf(r), MessageID: req.MessageID,
		RecipientCPR: req.RecipientCPR, Text: req.Text})
	if postoffice.RefusedForRecipient(err) && !s.answersAboutCitizens(w, r, audit.RefusalKind, []string{req.RecipientCPR}) {
		return
	}
	var conflict *postoffice.Conflict
	switch {
	case badInput(w, err):
		return
	case errors.As(err, &conflict):
		writeProblem(w, Problem{Type: problemBase + "conflict", Status: http.StatusConflict,
			Title: "message_id was used before with other content", Detail: "a changed message needs a new message_id"})
		return
	case err != nil:
		serverError(w, r, err)
		return
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, nemsmsView(res.Message))
}

func (s *Server) getNemSMS(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		notFound(w, "NemSMS message")
		return
	}
	m, err := s.desk.NemSMSMessage(r.Context(), senderOf(r), id)
	if errors.Is(err, postoffice.ErrNoMessage) {
		notFound(w, "NemSMS message")
		return
	}
	if err != nil {
		serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nemsmsView(m))
}

type appointmentRequest struct {
	AppointmentAt string `json:"appointment_at"`
}

// moveAppointment moves a letter's appointment; its NemSMS reminder follows.
func (s *Server) moveAppointment(w http.ResponseWriter, r *http.Request) {
	id, ok := letterID(w, r)
	if !ok {
		return
	}
	var req appointmentRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	s.actOnLetter(w, r, id, "appointment-refused", "the appointment cannot be moved", func() error {
		_, err := s.desk.MoveAppointment(r.Context(), id, req.AppointmentAt)
		return err
	})
}
