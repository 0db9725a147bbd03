package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/mailbox"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
)

// MailboxPageSize bounds the letters one mailbox page lists.
const MailboxPageSize = 200

func (s *Site) citizenRoutes() {
	s.mux.HandleFunc("GET /postkasse", s.need(RoleCitizen, s.ownMailbox))
	s.mux.HandleFunc("GET /postkasse/{owner}", s.need(RoleCitizen, s.sharedMailbox))
	s.mux.HandleFunc("GET /breve/{id}", s.need(RoleCitizen, s.readLetter))
	s.mux.HandleFunc("GET /breve/{id}/dokumenter/{n}", s.need(RoleCitizen, s.document))
	s.mux.HandleFunc("POST /adgang/anmod", s.need(RoleCitizen, s.requestAccess))
	s.mux.HandleFunc("POST /adgang/{id}/svar", s.need(RoleCitizen, s.answerAccess))
	s.mux.HandleFunc("GET /profil", s.need(RoleCitizen, s.profile))
	s.mux.HandleFunc("POST /profil", s.need(RoleCitizen, s.updateProfile))
	s.mux.HandleFunc("POST /profil/nemsms", s.need(RoleCitizen, s.nemsmsChoice))
	s.mux.HandleFunc("POST /profil/digital-post", s.need(RoleCitizen, s.reenrol))
	s.citizenPostRoutes()
}

type mailboxData struct {
	postoffice.MailboxView
	borgerservice.Sharing // the signed-in citizen's own mailbox only
	Own                   bool
	Exempt                bool
	Deceased              bool
	CPR                   string // a typed CPR number, kept when a request is refused
}

func (s *Site) ownMailbox(w http.ResponseWriter, r *http.Request, sess Session) {
	s.showMailbox(w, r, sess, sess.CitizenID, http.StatusOK, page{Notice: s.takeNotice(w, r)}, "")
}

func (s *Site) sharedMailbox(w http.ResponseWriter, r *http.Request, sess Session) {
	owner, err := uuid.Parse(r.PathValue("owner"))
	if err != nil {
		s.notFound(w, r, sess)
		return
	}
	s.showMailbox(w, r, sess, owner, http.StatusOK, page{}, "")
}

func (s *Site) showMailbox(w http.ResponseWriter, r *http.Request, sess Session, ownerID uuid.UUID, status int, p page, typedCPR string) {
	ctx := r.Context()
	view, err := s.d.PostOffice.MailboxOf(ctx, ownerID, sess.CitizenID, MailboxPageSize)
	if errors.Is(err, mailbox.ErrNoAccess) {
		s.notFound(w, r, sess)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	owner := view.Owner
	d := mailboxData{MailboxView: view, Own: ownerID == sess.CitizenID, Exempt: owner.Enrolment == registry.Exempt, Deceased: owner.Deceased(), CPR: typedCPR}
	if d.Own {
		if d.Sharing, err = s.d.CitizenService.SharingOf(ctx, ownerID); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	p.Title = "Digital Post – " + owner.Name
	if d.Own {
		p.Title = "Din digitale postkasse"
	}
	p.Data = d
	s.render(w, r, status, "mailbox.html", p)
}

// notFound answers a letter or mailbox the signed-in citizen may not see as if it did not
// exist: another citizen's letter id reveals nothing.
func (s *Site) notFound(w http.ResponseWriter, r *http.Request, sess Session) {
	s.fail(w, r, sess, http.StatusNotFound, "Findes ikke", "Brevet eller postkassen findes ikke, eller du har ikke adgang til den.")
}

type letterData struct {
	postoffice.Reading
	Own     bool   // the reader's own mailbox, not one read with reading access
	Refusal string // why the letter takes no reply now, as the page says it
	Form    postForm
}

// readLetter shows a letter and records the opening exactly as `starter open` does: the
// mailbox notes who and when, and the letter's workflow stops waiting.
func (s *Site) readLetter(w http.ResponseWriter, r *http.Request, sess Session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r, sess)
		return
	}
	s.showLetter(w, r, sess, id, http.StatusOK, page{Notice: s.takeNotice(w, r)}, postForm{})
}

// showLetter renders a letter with its thread and, for its owner, the reply form (with what
// was typed, when a reply was refused).
func (s *Site) showLetter(w http.ResponseWriter, r *http.Request, sess Session, id uuid.UUID, status int, p page, form postForm) {
	rd, err := s.d.PostOffice.Read(r.Context(), id, sess.CitizenID)
	switch {
	case errors.Is(err, mailbox.ErrNotInMailbox), errors.Is(err, mailbox.ErrNoAccess):
		s.notFound(w, r, sess)
		return
	case errors.Is(err, mailbox.ErrWithdrawn):
		// The desk tells a withdrawal only to someone who may read the letter; to anyone
		// else the id is unknown, as any letter they may not read.
		s.fail(w, r, sess, http.StatusGone, "Brevet er trukket tilbage", "Afsenderen har trukket brevet tilbage.")
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	if form.Key == "" {
		form.Key = uuid.NewString()
	}
	d := letterData{Reading: rd, Own: rd.Entry.CitizenID == sess.CitizenID, Form: form}
	switch {
	case rd.Thread.Delegated && rd.Letter.Replies.Allowed:
		d.Refusal = delegateCannotReply
	case !rd.Thread.Delegated && rd.Thread.Refusal != "":
		d.Refusal = replyRefusals[rd.Thread.Refusal]
	}
	p.Title, p.Data = rd.Letter.Subject, d
	s.render(w, r, status, "letter.html", p)
}

// document serves one of a letter's documents to someone who may read the letter.
func (s *Site) document(w http.ResponseWriter, r *http.Request, sess Session) {
	ctx := r.Context()
	id, err := uuid.Parse(r.PathValue("id"))
	n, nErr := strconv.Atoi(r.PathValue("n"))
	if err != nil || nErr != nil {
		s.notFound(w, r, sess)
		return
	}
	// Reading a document is reading the letter: the opening is recorded as on the letter's page.
	doc, err := s.d.PostOffice.ReadDocument(ctx, id, sess.CitizenID, n)
	switch {
	case errors.Is(err, postoffice.ErrNoDocument), errors.Is(err, mailbox.ErrNotInMailbox),
		errors.Is(err, mailbox.ErrNoAccess), errors.Is(err, mailbox.ErrWithdrawn):
		s.notFound(w, r, sess)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	serveDocument(w, doc.Filename, doc.Content)
}

// requestAccess is the signed-in citizen asking to read someone else's mailbox.
func (s *Site) requestAccess(w http.ResponseWriter, r *http.Request, sess Session) {
	me, err := s.citizenOf(r.Context(), sess)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	typed := r.FormValue("cpr")
	if _, err := cpr.Parse(typed); err != nil {
		s.showMailbox(w, r, sess, sess.CitizenID, http.StatusUnprocessableEntity,
			page{Errors: map[string]string{"cpr": "CPR-nummeret skal være DDMMÅÅ-XXXX med en gyldig fødselsdato"}}, typed)
		return
	}
	_, err = s.d.CitizenService.RequestReadingAccess(r.Context(), me.CPR.Digits(), typed)
	if msgs, refused := fieldErrors(err); refused {
		if m, ok := msgs["delegate"]; ok && m != access.ErrAlreadyLive.Error() {
			// About the signed-in citizen themselves: theirs to know. That they asked before is
			// not told: only a request to someone who can grant it is kept, so asking twice
			// would tell who can.
			s.showMailbox(w, r, sess, sess.CitizenID, http.StatusUnprocessableEntity, page{Error: "Du kan ikke få læseadgang: " + m}, typed)
			return
		}
		// The other person cannot be asked (not in the registry, deceased, exempt), or was
		// asked before. The page answers as it does when the request is sent, so that it is no
		// way to learn another person's status from a well-formed CPR number (issue 23, M2).
		s.log.Info("reading access request not sent: the citizen asked for cannot grant it", "delegate", sess.CitizenID.String())
		err = nil
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirectWithNotice(w, r, "/postkasse", requestSentNotice)
}

// requestSentNotice is the answer to a well-formed request to read someone's post, sent or not.
const requestSentNotice = "Hvis personen kan give læseadgang, har vi sendt din anmodning. Du får adgang, når personen siger ja."

// answerAccess is the citizen accepting or declining a request to read their mailbox.
func (s *Site) answerAccess(w http.ResponseWriter, r *http.Request, sess Session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r, sess)
		return
	}
	me, err := s.citizenOf(r.Context(), sess)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	accept := r.FormValue("svar") == "accepter"
	st, err := s.d.CitizenService.RespondReadingAccess(r.Context(), id, me.CPR.Digits(), accept)
	if msgs, refused := fieldErrors(err); refused {
		s.showMailbox(w, r, sess, sess.CitizenID, http.StatusUnprocessableEntity, page{Error: first(msgs)}, "")
		return
	}
	if errors.Is(err, access.ErrNotFound) {
		s.notFound(w, r, sess)
		return
	}
	if err != nil {
		// The request's workflow turned the answer away (it expired, say): show why.
		s.showMailbox(w, r, sess, sess.CitizenID, http.StatusConflict, page{Error: "Anmodningen kunne ikke besvares: " + err.Error()}, "")
		return
	}
	msg := "Anmodningen er afvist."
	if st == access.Granted {
		msg = "Adgangen er givet."
	}
	s.redirectWithNotice(w, r, "/postkasse", msg)
}

func first(m map[string]string) string {
	for _, v := range m {
		return v
	}
	return ""
}

type profileData struct {
	Citizen       registry.Citizen
	Email, Mobile string
	// NemSMS: the citizen's subscription, if any, and the terms to accept.
	NemSMS       *nemsms.Subscription
	NemSMSTerms  string
	NemSMSMobile string
}

func (s *Site) profileData(r *http.Request, c registry.Citizen) (profileData, error) {
	d := profileData{Citizen: c, Email: c.Email, Mobile: c.Mobile, NemSMSTerms: s.d.CitizenService.NemSMSTerms(), NemSMSMobile: c.Mobile}
	sub, err := s.d.CitizenService.NemSMSSubscription(r.Context(), c.ID)
	switch {
	case err == nil && sub.Active():
		d.NemSMS = &sub
	case err != nil && !errors.Is(err, nemsms.ErrNotSubscribed):
		return d, err
	}
	return d, nil
}

func (s *Site) profile(w http.ResponseWriter, r *http.Request, sess Session) {
	c, err := s.citizenOf(r.Context(), sess)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d, err := s.profileData(r, c)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "profile.html", page{Title: "Dine kontaktoplysninger", Notice: s.takeNotice(w, r), Data: d})
}

// updateProfile changes e-mail and mobile number with the registry's rules; a refusal names
// the field beside the form and changes nothing.
func (s *Site) updateProfile(w http.ResponseWriter, r *http.Request, sess Session) {
	c, err := s.citizenOf(r.Context(), sess)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	email, mobile := r.FormValue("email"), r.FormValue("mobile")
	_, err = s.d.CitizenService.UpdateContact(r.Context(), c.CPR.Digits(), registry.ContactChange{Email: &email, Mobile: &mobile})
	if msgs, refused := fieldErrors(err); refused {
		d, derr := s.profileData(r, c)
		if derr != nil {
			s.serverError(w, r, derr)
			return
		}
		d.Email, d.Mobile = email, mobile
		s.render(w, r, http.StatusUnprocessableEntity, "profile.html", page{Title: "Dine kontaktoplysninger", Errors: msgs, Data: d})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirectWithNotice(w, r, "/profil", "Dine kontaktoplysninger er gemt.")
}

// reenrol is an exempt citizen cancelling their own exemption (issue 26, item 3): enrolled
// again without the citizen service, their next letters are digital.
func (s *Site) reenrol(w http.ResponseWriter, r *http.Request, sess Session) {
	c, err := s.citizenOf(r.Context(), sess)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if _, err := s.d.CitizenService.Enrol(r.Context(), c.CPR.Digits()); err != nil {
		if msgs, refused := fieldErrors(err); refused {
			s.redirectWithNotice(w, r, "/profil", "Du er ikke fritaget: "+first(msgs))
			return
		}
		s.serverError(w, r, err)
		return
	}
	s.redirectWithNotice(w, r, "/profil", "Din fritagelse er ophævet. Dine næste breve kommer i din digitale postkasse.")
}

// nemsmsChoice signs the citizen up for NemSMS (accepting its terms) or off it.
func (s *Site) nemsmsChoice(w http.ResponseWriter, r *http.Request, sess Session) {
	c, err := s.citizenOf(r.Context(), sess)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if r.FormValue("action") == "afmeld" {
		if err := s.d.CitizenService.UnsubscribeNemSMS(r.Context(), c.CPR.Digits()); err != nil {
			if _, refused := fieldErrors(err); !refused {
				s.serverError(w, r, err)
				return
			}
		}
		s.redirectWithNotice(w, r, "/profil", "Du er afmeldt NemSMS.")
		return
	}
	accepted := ""
	if r.FormValue("accept") == "ja" {
		accepted = s.d.CitizenService.NemSMSTerms()
	}
	_, err = s.d.CitizenService.SubscribeNemSMS(r.Context(), c.CPR.Digits(), accepted, r.FormValue("nemsms-mobile"))
	if msgs, refused := fieldErrors(err); refused {
		d, derr := s.profileData(r, c)
		if derr != nil {
			s.serverError(w, r, derr)
			return
		}
		d.NemSMSMobile = r.FormValue("nemsms-mobile")
		if m, ok := msgs["accept-terms"]; ok {
			msgs["accept"] = "sæt kryds for at acceptere betingelserne (" + m + ")"
		}
		if m, ok := msgs["mobile"]; ok {
			msgs["nemsms-mobile"] = m
		}
		s.render(w, r, http.StatusUnprocessableEntity, "profile.html", page{Title: "Dine kontaktoplysninger", Errors: msgs, Data: d})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirectWithNotice(w, r, "/profil", "Du er tilmeldt NemSMS.")
}

// serveDocument hands out a document a sender (or a representative) supplied. Only a PDF is
// shown in the browser; anything else is downloaded. Either way it runs sandboxed, so a
// document can never act as a page of this site.
func serveDocument(w http.ResponseWriter, filename string, content []byte) {
	h := w.Header()
	disposition := "attachment"
	if http.DetectContentType(content) == "application/pdf" {
		h.Set("Content-Type", "application/pdf")
		disposition = "inline"
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("Content-Disposition", fmt.Sprintf("%s; filename=%q", disposition, filename))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	_, _ = w.Write(content)
}
