package web

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/mailbox"
)

// Two-way post on the pages: the citizen answers a letter in their own mailbox, or writes
// first to an authority's contact point; both are kept in the mailbox's sent folder with a
// receipt, and whoever reads the mailbox with reading access reads them too (but writes none).

func (s *Site) citizenPostRoutes() {
	s.mux.HandleFunc("POST /breve/{id}/svar", s.need(RoleCitizen, s.reply))
	s.mux.HandleFunc("GET /sendt/{id}", s.need(RoleCitizen, s.sent))
	s.mux.HandleFunc("GET /sendt/{id}/filer/{n}", s.need(RoleCitizen, s.sentFile))
	s.mux.HandleFunc("GET /skriv", s.need(RoleCitizen, s.writeForm))
	s.mux.HandleFunc("POST /skriv", s.need(RoleCitizen, s.write))
}

// replyRefusals are the reasons a letter takes no reply, as the page says them.
var replyRefusals = map[letters.ReplyRefusal]string{
	letters.NoReplies:       "Afsenderen modtager ikke svar på dette brev.",
	letters.WithdrawnLetter: "Afsenderen har trukket brevet tilbage, så det kan ikke besvares.",
	letters.PastReplyBy:     "Fristen for at svare på brevet er overskredet.",
}

// delegateCannotReply is what a reader with reading access is told about answering.
const delegateCannotReply = "Du kan læse svarene med din læseadgang, men kun ejeren af postkassen kan svare."

// tooManyPosts is the answer to a citizen over the hour's bound (postoffice.MaxPostsPerHour).
var tooManyPosts = fmt.Sprintf("Du har sendt %d svar og beskeder den seneste time. Prøv igen senere.", postoffice.MaxPostsPerHour)

// postForm is a reply or message as typed, kept when it is refused.
type postForm struct {
	Key, Subject, Text string
	SenderContact      string // "sender/contact point" of a message written first
}

// readPostForm reads a reply or message form: its fields, and its PDF files.
func readPostForm(w http.ResponseWriter, r *http.Request) (postForm, []letters.Document, string) {
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return postForm{}, nil, "Filerne er for store: højst 5 filer på højst 10 MB hver."
		}
		return postForm{}, nil, "Formularen kunne ikke læses. Prøv igen."
	}
	f := postForm{Key: r.FormValue("key"), Subject: r.FormValue("emne"), Text: r.FormValue("tekst"), SenderContact: r.FormValue("til")}
	var docs []letters.Document
	if r.MultipartForm != nil {
		for _, h := range r.MultipartForm.File["filer"] {
			if h.Filename == "" && h.Size == 0 {
				continue // a file input left empty
			}
			content, err := readUpload(h)
			if err != nil {
				return f, nil, "En fil kunne ikke læses. Prøv igen."
			}
			docs = append(docs, letters.Document{Filename: h.Filename, ContentType: h.Header.Get("Content-Type"), Content: content})
		}
	}
	return f, docs, ""
}

func readUpload(h *multipart.FileHeader) ([]byte, error) {
	f, err := h.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// postErrors turns the desk's rules into the form's fields, in Danish where the page knows the rule.
func postErrors(msgs map[string]string) map[string]string {
	out := map[string]string{}
	for field, rule := range msgs {
		switch {
		case field == "text":
			out["tekst"] = rule
		case field == "subject":
			out["emne"] = rule
		case field == "contact-point":
			out["til"] = "Vælg en modtager fra listen."
		case field == "content":
			out["tekst"] = "Skriv en tekst, eller vedhæft mindst én PDF."
		case field == "form-key":
			out["form"] = "Formularen er udløbet. Genindlæs siden, og send igen."
		default: // documents, document N (name)
			if prev := out["filer"]; prev != "" {
				rule = prev + "; " + field + " " + rule
			} else if field != "documents" {
				rule = field + " " + rule
			}
			out["filer"] = rule
		}
	}
	return out
}

// reply is the citizen answering a letter in their own mailbox. The form's key makes a
// second click the same reply: it lands on the same receipt.
func (s *Site) reply(w http.ResponseWriter, r *http.Request, sess Session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r, sess)
		return
	}
	form, docs, unreadable := readPostForm(w, r)
	if unreadable != "" {
		s.showLetter(w, r, sess, id, http.StatusRequestEntityTooLarge, page{Error: unreadable}, form)
		return
	}
	m, _, err := s.d.PostOffice.Reply(r.Context(), postoffice.CitizenPost{Author: sess.CitizenID, LetterID: id,
		Subject: form.Subject, Text: form.Text, Files: docs, FormKey: form.Key})
	var refused *postoffice.ReplyRefused
	switch msgs, bad := fieldErrors(err); {
	case bad:
		s.showLetter(w, r, sess, id, http.StatusUnprocessableEntity, page{Errors: postErrors(msgs), Error: postErrors(msgs)["form"]}, form)
		return
	case errors.As(err, &refused):
		s.showLetter(w, r, sess, id, http.StatusConflict, page{Error: replyRefusals[refused.Reason]}, form)
		return
	case errors.Is(err, postoffice.ErrDelegateCannotReply):
		s.showLetter(w, r, sess, id, http.StatusForbidden, page{Error: delegateCannotReply}, postForm{})
		return
	case errors.Is(err, postoffice.ErrTooManyPosts):
		s.showLetter(w, r, sess, id, http.StatusTooManyRequests, page{Error: tooManyPosts}, form)
		return
	case errors.Is(err, mailbox.ErrNoAccess):
		s.notFound(w, r, sess)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.redirectWithNotice(w, r, "/sendt/"+m.ID.String(), "Dit svar er sendt til "+recipientOf(m)+".")
}

func recipientOf(m citizenpost.Message) string {
	if m.ContactPointName != "" {
		return m.ContactPointName
	}
	return m.Organisation
}

// sentData is a reply or message as the sent folder shows it.
type sentData struct {
	postoffice.SentView
	To  string
	Own bool
}

func (s *Site) sent(w http.ResponseWriter, r *http.Request, sess Session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r, sess)
		return
	}
	v, err := s.d.PostOffice.SentMessage(r.Context(), id, sess.CitizenID)
	switch {
	case errors.Is(err, mailbox.ErrNoAccess):
		s.notFound(w, r, sess)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	title := "Sendt: " + v.Message.Subject
	s.render(w, r, http.StatusOK, "sent.html", page{Title: title, Notice: s.takeNotice(w, r),
		Data: sentData{SentView: v, To: recipientOf(v.Message), Own: v.Owner.ID == sess.CitizenID}})
}

func (s *Site) sentFile(w http.ResponseWriter, r *http.Request, sess Session) {
	id, err := uuid.Parse(r.PathValue("id"))
	n, nErr := strconv.Atoi(r.PathValue("n"))
	if err != nil || nErr != nil {
		s.notFound(w, r, sess)
		return
	}
	doc, err := s.d.PostOffice.SentAttachment(r.Context(), id, sess.CitizenID, n)
	switch {
	case errors.Is(err, mailbox.ErrNoAccess), errors.Is(err, postoffice.ErrNoDocument):
		s.notFound(w, r, sess)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	serveDocument(w, doc.Filename, doc.Content)
}

// writeData is the form to write to an authority.
type writeData struct {
	ContactPoints []citizenpost.ContactPoint
	Form          postForm
}

func (s *Site) writeForm(w http.ResponseWriter, r *http.Request, sess Session) {
	s.showWrite(w, r, http.StatusOK, page{}, postForm{})
}

func (s *Site) showWrite(w http.ResponseWriter, r *http.Request, status int, p page, form postForm) {
	cps, err := s.d.PostOffice.ContactPointsForCitizens(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	form.Key = uuid.NewString() // a new form: a refused one sent again is a new message
	p.Title, p.Data = "Skriv til en myndighed", writeData{ContactPoints: cps, Form: form}
	s.render(w, r, status, "write.html", p)
}

// write is the citizen writing first to a contact point open to citizens.
func (s *Site) write(w http.ResponseWriter, r *http.Request, sess Session) {
	form, docs, unreadable := readPostForm(w, r)
	if unreadable != "" {
		s.showWrite(w, r, http.StatusRequestEntityTooLarge, page{Error: unreadable}, form)
		return
	}
	sender, point, _ := strings.Cut(form.SenderContact, "/")
	m, _, err := s.d.PostOffice.Write(r.Context(), postoffice.CitizenPost{Author: sess.CitizenID, SenderID: sender, ContactPoint: point,
		Subject: form.Subject, Text: form.Text, Files: docs, FormKey: form.Key})
	switch msgs, bad := fieldErrors(err); {
	case bad:
		errs := postErrors(msgs)
		s.showWrite(w, r, http.StatusUnprocessableEntity, page{Errors: errs, Error: errs["form"]}, form)
		return
	case errors.Is(err, mailbox.ErrNoAccess):
		s.fail(w, r, sess, http.StatusForbidden, "Du kan ikke skrive herfra", "Postkassen tager ikke imod nye beskeder.")
		return
	case errors.Is(err, postoffice.ErrTooManyPosts):
		s.showWrite(w, r, http.StatusTooManyRequests, page{Error: tooManyPosts}, form)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.redirectWithNotice(w, r, "/sendt/"+m.ID.String(), "Din besked er sendt til "+recipientOf(m)+".")
}
