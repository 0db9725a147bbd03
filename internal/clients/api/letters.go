package api

import (
	"digitalpost/internal/clients/api/wire"

	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/audit"
	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
)

// submission turns a request into the post office's submission, or the rules it breaks. The
// request is POST /v1/letters as JSON (documents base64), as multipart/form-data (the same
// names as form fields, documents as files named "documents"), or a line of an NDJSON batch.
func submission(req wire.LetterRequest, sender string) (postoffice.Submission, error) {
	var errs fielderr.List
	s := postoffice.Submission{SenderID: sender, MessageID: req.MessageID, RecipientCPR: req.RecipientCPR,
		Subject: req.Subject, Body: req.Text, PhysicalOnly: req.PhysicalOnly, DigitalOnly: req.DigitalOnly,
		PostalCategory: req.PostalCategory, Urgency: letters.Urgency(req.Urgency)}
	if strings.TrimSpace(req.MessageID) == "" {
		errs.Add("message_id", "is required: your own id for the letter, so that sending it again delivers nothing twice")
	}
	var bad *fielderr.Error
	if err := s.SetDeadline(req.Deadline); errors.As(err, &bad) {
		errs = append(errs, bad)
	}
	if err := s.SetDeliverAt(req.DeliverAt); errors.As(err, &bad) {
		errs = append(errs, bad)
	}
	if err := s.SetAppointmentAt(req.AppointmentAt); errors.As(err, &bad) {
		errs = append(errs, bad)
	}
	s.RepliesAllowed, s.ReplyContactPoint = req.RepliesAllowed, req.ReplyContactPoint
	if err := s.SetReplyBy(req.ReplyBy); errors.As(err, &bad) {
		errs = append(errs, bad)
	}
	if err := s.SetInReplyTo(req.InReplyTo); errors.As(err, &bad) {
		errs = append(errs, bad)
	}
	for i, d := range req.Documents {
		content, err := base64.StdEncoding.DecodeString(d.Content)
		if err != nil {
			errs.Add(fmt.Sprintf("documents[%d].content", i), "must be base64 (RFC 4648, with padding)")
			continue
		}
		s.Documents = append(s.Documents, letters.Document{Filename: d.Filename, ContentType: d.ContentType, Content: content})
	}
	return s, errs.Err()
}

// decodeJSON reads a JSON body strictly: bytes that are not UTF-8, unknown fields and
// trailing data are refused. Go's decoder turns bytes that are not UTF-8 into U+FFFD without
// a word, and a letter would be stored with text its sender never wrote; the body is checked
// as it streams into the decoder, so it is held once.
func decodeJSON(w http.ResponseWriter, r *http.Request, into any) bool {
	err := strictJSON(&utf8Reader{r: r.Body}, into)
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errNotUTF8):
		malformed(w, "body", "must be UTF-8 (it has bytes that are not; save it as UTF-8)")
	case errors.As(err, &tooBig):
		tooLarge(w, tooBig.Limit)
	case errors.As(err, &typeErr):
		malformed(w, typeErr.Field, "must be a JSON "+typeErr.Type.Kind().String())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		malformed(w, strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "is not a field of this request")
	case errors.Is(err, io.EOF):
		malformed(w, "body", "must be a JSON object")
	default:
		malformed(w, "body", "is not valid JSON: "+err.Error())
	}
	return false
}

// strictJSON decodes one JSON value, refusing unknown fields and anything after it.
func strictJSON(r io.Reader, into any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	err := dec.Decode(into)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	return err
}

var errNotUTF8 = errors.New("not UTF-8")

// utf8Reader passes r through, failing with errNotUTF8 at the first byte sequence that is not
// UTF-8. A sequence cut by a read's end is held back until the next read completes it.
type utf8Reader struct {
	r       io.Reader
	pending []byte // the start of a sequence the last read cut
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	if len(p) <= utf8.UTFMax {
		return 0, io.ErrShortBuffer // the decoder reads in large chunks; never happens
	}
	n := copy(p, u.pending)
	m, err := u.r.Read(p[n:])
	n += m
	u.pending = u.pending[:0]
	// Hold back an incomplete sequence at the end, unless the input has ended.
	end := n
	if err == nil {
		for i := n - 1; i >= max(0, n-utf8.UTFMax+1); i-- {
			if utf8.RuneStart(p[i]) {
				if !utf8.FullRune(p[i:n]) {
					end = i
				}
				break
			}
		}
	}
	if !utf8.Valid(p[:end]) {
		return 0, errNotUTF8
	}
	u.pending = append(u.pending, p[end:n]...)
	if err == io.EOF && len(u.pending) > 0 {
		return 0, errNotUTF8
	}
	return end, err
}

func (s *Server) submitLetter(w http.ResponseWriter, r *http.Request) {
	var req wire.LetterRequest
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/json":
		if !decodeJSON(w, r, &req) {
			return
		}
	case "multipart/form-data":
		if !readMultipartLetter(w, r, params["boundary"], &req) {
			return
		}
	default:
		writeProblem(w, Problem{Type: problemBase + "unsupported-media-type", Status: http.StatusUnsupportedMediaType,
			Title: "send the letter as application/json or multipart/form-data"})
		return
	}
	sub, err := submission(req, senderOf(r))
	if badInput(w, err) {
		return
	}
	sub.SubmittedBy = submittedBy(r)
	receipt, err := s.desk.Submit(r.Context(), sub)
	if postoffice.RefusedForRecipient(err) && !s.answersAboutCitizens(w, r, audit.RefusalKind, []string{sub.RecipientCPR}) {
		return
	}
	var conflict *postoffice.Conflict
	switch {
	case badInput(w, err):
		return
	case errors.As(err, &conflict):
		writeProblem(w, Problem{Type: problemBase + "conflict", Status: http.StatusConflict, LetterID: conflict.LetterID.String(),
			Title:  "this message_id was used before for a letter with other content; nothing was sent",
			Errors: []ProblemField{{Field: "message_id", Rule: "was used for other content; a changed letter needs a new message_id"}}})
		return
	case err != nil && receipt.LetterID == uuid.Nil:
		serverError(w, r, err)
		return
	case err != nil:
		// Stored, but the start did not go through: the recovery sweep starts it within a
		// minute, and sending the same request again starts it at once.
		logFrom(r).Warn("letter stored, start deferred", "letter_id", receipt.LetterID, "error", err)
	}
	view, err := s.letterView(r, receipt.LetterID, false) // just stored: nothing but "received" to show yet
	if err != nil {
		serverError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/letters/"+receipt.LetterID.String())
	status := http.StatusCreated
	if receipt.Duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, view)
}

// readMultipartLetter reads a multipart letter: fields by name, files as documents.
func readMultipartLetter(w http.ResponseWriter, r *http.Request, boundary string, req *wire.LetterRequest) bool {
	if boundary == "" {
		malformed(w, "body", "multipart/form-data needs a boundary")
		return false
	}
	mr, err := r.MultipartReader()
	if err != nil {
		malformed(w, "body", err.Error())
		return false
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return true
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			tooLarge(w, tooBig.Limit)
			return false
		}
		if err != nil {
			malformed(w, "body", "is not valid multipart/form-data: "+err.Error())
			return false
		}
		b, err := io.ReadAll(part)
		if err != nil {
			malformed(w, part.FormName(), "could not be read: "+err.Error())
			return false
		}
		name := part.FormName()
		if name == "documents" {
			req.Documents = append(req.Documents, wire.NewDocument(part.FileName(), part.Header.Get("Content-Type"), b))
			continue
		}
		v := string(b)
		switch name {
		case "message_id":
			req.MessageID = v
		case "recipient_cpr":
			req.RecipientCPR = v
		case "subject":
			req.Subject = v
		case "text":
			req.Text = v
		case "deadline":
			req.Deadline = v
		case "deliver_at":
			req.DeliverAt = v
		case "postal_category":
			req.PostalCategory = v
		case "appointment_at":
			req.AppointmentAt = v
		case "urgency":
			req.Urgency = v
		case "reply_by":
			req.ReplyBy = v
		case "reply_contact_point":
			req.ReplyContactPoint = v
		case "in_reply_to":
			req.InReplyTo = v
		case "physical_only", "digital_only", "replies_allowed":
			on, err := strconv.ParseBool(v)
			if err != nil {
				malformed(w, name, "must be true or false")
				return false
			}
			switch name {
			case "physical_only":
				req.PhysicalOnly = on
			case "digital_only":
				req.DigitalOnly = on
			default:
				req.RepliesAllowed = &on
			}
		default:
			malformed(w, name, "is not a field of this request")
			return false
		}
	}
}

func letterSummary(l letters.Letter) wire.Letter {
	v := wire.Letter{ID: l.ID.String(), MessageID: l.MessageID, Status: string(l.Status), Channel: string(l.Channel),
		Subject: l.Subject, PhysicalOnly: l.PhysicalOnly, DigitalOnly: l.DigitalOnly, Deadline: duration(l.Deadline),
		FailureReason: l.FailureReason, CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC(), PostalCategory: string(l.PostalCategory),
		Urgency: string(l.Urgency.OrDefault())}
	if l.DeliverAt != nil {
		at := l.DeliverAt.UTC()
		v.DeliverAt = &at
	}
	if l.LegalDeliveryAt != nil {
		at := l.LegalDeliveryAt.UTC()
		v.LegalDeliveryAt = &at
	}
	if l.AppointmentAt != nil {
		at := l.AppointmentAt.UTC()
		v.AppointmentAt = &at
	}
	if l.BatchID != nil {
		v.BatchID = l.BatchID.String()
	}
	v.Replies = wire.ReplyOptions{Allowed: l.Replies.Allowed, ContactPoint: l.Replies.ContactPoint}
	if l.Replies.By != nil {
		by := l.Replies.By.UTC()
		v.Replies.ReplyBy = &by
	}
	if l.InReplyTo != nil {
		v.InReplyTo = l.InReplyTo.String()
	}
	return v
}

// letterView is one of the sender's letters, with its notices, print jobs and timeline when
// full, or letters.ErrNotFound when it is not the sender's.
func (s *Server) letterView(r *http.Request, id uuid.UUID, full bool) (wire.Letter, error) {
	if !full {
		l, err := s.desk.SendersLetter(r.Context(), senderOf(r), id)
		return letterSummary(l), err
	}
	report, err := s.desk.ReportFor(r.Context(), senderOf(r), id)
	if err != nil {
		return wire.Letter{}, err
	}
	v := letterSummary(report.Letter)
	for _, n := range report.Notices {
		v.Notices = append(v.Notices, wire.Notice{Channel: string(n.Channel), Purpose: string(n.Purpose), State: n.State,
			Attempts: n.Attempts, UpdatedAt: n.UpdatedAt.UTC()})
	}
	for _, j := range report.PrintJobs {
		v.PrintJobs = append(v.PrintJobs, wire.PrintJob{JobID: j.JobID, Purpose: string(j.Purpose), Reason: j.Reason, Pages: j.Pages, Outcome: j.Outcome, PostalCategory: j.PostalCategory})
	}
	for _, e := range report.Timeline {
		v.Timeline = append(v.Timeline, eventView(e))
	}
	for _, m := range report.Replies {
		v.ReceivedReplies = append(v.ReceivedReplies, messageSummary(m))
	}
	return v, nil
}

func letterID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		notFound(w, "letter")
		return uuid.Nil, false
	}
	return id, true
}

func (s *Server) getLetter(w http.ResponseWriter, r *http.Request) {
	id, ok := letterID(w, r)
	if !ok {
		return
	}
	v, err := s.letterView(r, id, true)
	switch {
	case errors.Is(err, letters.ErrNotFound):
		notFound(w, "letter")
	case err != nil:
		serverError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

func (s *Server) listLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := letters.SenderFilter{SenderID: senderOf(r), Status: letters.Status(q.Get("status")), Limit: 100}
	var errs fielderr.List
	if f.Status != "" && !knownStatus(f.Status) {
		errs.Add("status", "must be one of "+strings.Join(statusNames(), ", "))
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs.Add("since", "must be an RFC 3339 time like 2026-12-01T00:00:00Z")
		}
		f.Since = t
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
		f.After = &letters.PageKey{CreatedAt: at, ID: id}
	}
	if badInput(w, errs.Err()) {
		return
	}
	page, err := s.desk.Page(r.Context(), f)
	if err != nil {
		serverError(w, r, err)
		return
	}
	out := wire.LetterPage{Letters: make([]wire.Letter, 0, len(page.Letters))}
	for _, l := range page.Letters {
		out.Letters = append(out.Letters, letterSummary(l))
	}
	if page.Next != nil {
		out.NextCursor = pageCursor(page.Next.CreatedAt, page.Next.ID)
	}
	writeJSON(w, http.StatusOK, out)
}

// pageCursor is a place in a list ordered newest first, by creation and id, as a client carries
// it: the letters' list and the messages' list page the same way.
func pageCursor(createdAt time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(createdAt.UnixMicro(), 10) + "." + id.String()))
}

func parsePageCursor(s string) (time.Time, uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	at, id, ok := strings.Cut(string(b), ".")
	micros, err1 := strconv.ParseInt(at, 10, 64)
	uid, err2 := uuid.Parse(id)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, uuid.Nil, errors.New("bad cursor")
	}
	return time.UnixMicro(micros), uid, nil
}

var allStatuses = []letters.Status{letters.Received, letters.Delivered, letters.Notified, letters.Opened,
	letters.Escalated, letters.Printed, letters.Withdrawn, letters.Failed, letters.Posted, letters.Returned, letters.PrintFailed}

func knownStatus(st letters.Status) bool {
	for _, s := range allStatuses {
		if s == st {
			return true
		}
	}
	return false
}

func statusNames() []string {
	out := make([]string, len(allStatuses))
	for i, s := range allStatuses {
		out[i] = string(s)
	}
	return out
}

type withdrawRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) withdrawLetter(w http.ResponseWriter, r *http.Request) {
	id, ok := letterID(w, r)
	if !ok {
		return
	}
	var req withdrawRequest
	if r.ContentLength != 0 && !decodeJSON(w, r, &req) {
		return
	}
	s.actOnLetter(w, r, id, "withdraw-refused", "the letter can no longer be withdrawn", func() error {
		_, err := s.desk.Withdraw(r.Context(), id, req.Reason)
		return err
	})
}

// actOnLetter runs an action on one of the sender's letters and answers the letter as it
// then stands; the post office's refusal is a 409 problem of the given type and title.
func (s *Server) actOnLetter(w http.ResponseWriter, r *http.Request, id uuid.UUID, problemType, title string, act func() error) {
	if _, err := s.letterView(r, id, false); errors.Is(err, letters.ErrNotFound) {
		notFound(w, "letter")
		return
	} else if err != nil {
		serverError(w, r, err)
		return
	}
	err := act()
	var refused *postoffice.Refused
	switch {
	case badInput(w, err):
		return
	case errors.As(err, &refused):
		writeProblem(w, Problem{Type: problemBase + problemType, Status: http.StatusConflict, LetterID: id.String(),
			Title: title, Detail: refused.Reason})
		return
	case err != nil:
		serverError(w, r, err)
		return
	}
	v, err := s.letterView(r, id, true)
	if err != nil {
		serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func eventView(e events.Event) wire.Event {
	v := wire.Event{ID: e.ID, Cursor: e.Cursor.String(), Type: e.Type(), MessageID: e.MessageID,
		Channel: e.Channel, Reason: e.Reason, At: e.At.UTC()}
	if e.LetterID != uuid.Nil {
		v.LetterID = e.LetterID.String()
	}
	if e.LegalDeliveryAt != nil {
		at := e.LegalDeliveryAt.UTC()
		v.LegalDeliveryAt = &at
	}
	switch {
	case e.StatusChange():
		v.Status = e.Kind
	case e.CitizenMessageID != nil:
		v.CitizenMessageID = e.CitizenMessageID.String()
	}
	return v
}

// duration writes a deadline as a sender would: 72h, 90m, 45s.
func duration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encoding the answer failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
