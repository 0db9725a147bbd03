package web

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/domain/exemption"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
	"digitalpost/workflows"
)

func (s *Site) caseworkerRoutes() {
	s.mux.HandleFunc("GET /sagsbehandler", s.need(RoleCaseworker, s.queue))
	s.mux.HandleFunc("POST /sagsbehandler/ansoegninger", s.need(RoleCaseworker, s.apply))
	s.mux.HandleFunc("GET /sagsbehandler/sager/{id}", s.need(RoleCaseworker, s.showCase))
	s.mux.HandleFunc("POST /sagsbehandler/sager/{id}/fuldmagt", s.need(RoleCaseworker, s.verifyProxy))
	s.mux.HandleFunc("GET /sagsbehandler/sager/{id}/fuldmagt", s.need(RoleCaseworker, s.powerOfAttorney))
	s.mux.HandleFunc("POST /sagsbehandler/sager/{id}/afgoerelse", s.need(RoleCaseworker, s.decide))
	s.mux.HandleFunc("POST /sagsbehandler/genindmeldelse", s.need(RoleCaseworker, s.reEnrol))
}

type queueData struct {
	Cases   []borgerservice.QueuedCase
	Grounds []groundOption
	Form    applicationForm
}

type groundOption struct {
	Value, Label string
	Checked      bool
}

type applicationForm struct {
	CPR, RepresentativeName, RepresentativeCPR string
	Grounds                                    []string
	EnrolCPR                                   string
}

func grounds(checked []string) []groundOption {
	var out []groundOption
	for _, g := range exemption.Grounds() {
		out = append(out, groundOption{Value: string(g), Label: g.Describe(), Checked: contains(checked, string(g))})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// queue is the citizen service's case queue: open cases, overdue first, then oldest.
func (s *Site) queue(w http.ResponseWriter, r *http.Request, sess Session) {
	s.showQueue(w, r, sess, http.StatusOK, page{Notice: s.takeNotice(w, r)}, applicationForm{})
}

func (s *Site) showQueue(w http.ResponseWriter, r *http.Request, sess Session, status int, p page, form applicationForm) {
	cases, err := s.d.CitizenService.Queue(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d := queueData{Grounds: grounds(form.Grounds), Form: form, Cases: cases}
	p.Title, p.Data = "Sager om fritagelse", d
	s.render(w, r, status, "queue.html", p)
}

// apply registers an application, in person or by a representative with an uploaded power
// of attorney, through the desk's rules.
func (s *Site) apply(w http.ResponseWriter, r *http.Request, sess Session) {
	r.Body = http.MaxBytesReader(w, r.Body, letters.MaxDocumentBytes+1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		s.showQueue(w, r, sess, http.StatusRequestEntityTooLarge, page{Error: "Fuldmagten er for stor (højst 10 MB)."}, applicationForm{})
		return
	}
	form := applicationForm{CPR: r.FormValue("cpr"), RepresentativeName: r.FormValue("representative-name"),
		RepresentativeCPR: r.FormValue("representative-cpr"), Grounds: r.Form["grounds"]}
	app := borgerservice.Application{CitizenCPR: form.CPR, Grounds: form.Grounds,
		Caseworker: sess.Caseworker, RepresentativeName: form.RepresentativeName, RepresentativeCPR: form.RepresentativeCPR}
	if f, h, err := r.FormFile("power-of-attorney"); err == nil {
		content, readErr := io.ReadAll(f)
		_ = f.Close()
		if readErr != nil {
			s.serverError(w, r, readErr)
			return
		}
		app.PowerOfAttorney = letters.Document{Filename: h.Filename, ContentType: h.Header.Get("Content-Type"), Content: content}
	}
	id, err := s.d.CitizenService.Apply(r.Context(), app)
	var deferred *borgerservice.StartDeferred
	switch msgs, refused := fieldErrors(err); {
	case refused:
		s.showQueue(w, r, sess, http.StatusUnprocessableEntity, page{Errors: msgs}, form)
		return
	case errors.As(err, &deferred):
		// Stored; the recovery sweep starts its workflow shortly.
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/sagsbehandler/sager/"+id.String(), http.StatusSeeOther)
}

type caseData struct {
	Case           exemption.Case
	State          workflows.CaseState
	Citizen        registry.Citizen
	Representative string
	Grounds        []string
	// DecisionGrounds are the grounds the caseworker may record with the decision.
	DecisionGrounds []groundOption
	Deadline        string
}

func (s *Site) showCase(w http.ResponseWriter, r *http.Request, sess Session) {
	s.renderCase(w, r, sess, http.StatusOK, page{Notice: s.takeNotice(w, r)})
}

func (s *Site) renderCase(w http.ResponseWriter, r *http.Request, sess Session, status int, p page) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, http.StatusNotFound, "Sagen findes ikke", "")
		return
	}
	st, c, err := s.d.CitizenService.Show(r.Context(), id)
	if errors.Is(err, exemption.ErrNotFound) {
		s.fail(w, r, sess, http.StatusNotFound, "Sagen findes ikke", "")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d := caseData{Case: c, State: st, Representative: c.RepresentativeName}
	if d.Citizen, err = s.d.CitizenService.CitizenByID(r.Context(), c.CitizenID); err != nil {
		s.serverError(w, r, err)
		return
	}
	for _, g := range c.Grounds {
		d.Grounds = append(d.Grounds, g.Describe())
	}
	if len(d.Grounds) == 0 {
		d.Grounds = []string{"borgeren har ikke angivet et grundlag; angiv det med afgørelsen"}
	}
	d.DecisionGrounds = grounds(r.Form["grounds"])
	p.Title, p.Data = "Sag om fritagelse", d
	s.render(w, r, status, "case.html", p)
}

// powerOfAttorney shows the document the representative brought.
func (s *Site) powerOfAttorney(w http.ResponseWriter, r *http.Request, sess Session) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, http.StatusNotFound, "Sagen findes ikke", "")
		return
	}
	name, content, err := s.d.CitizenService.PowerOfAttorney(r.Context(), id)
	if errors.Is(err, exemption.ErrNotFound) || err == nil && len(content) == 0 {
		s.fail(w, r, sess, http.StatusNotFound, "Ingen fuldmagt", "Sagen har ingen fuldmagt.")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// A power of attorney is a citizen's document about another citizen: each look is on record.
	s.log.Info("power of attorney viewed", "case", id, "role", sess.Role, "user", sess.user())
	serveDocument(w, name, content)
}

func (s *Site) verifyProxy(w http.ResponseWriter, r *http.Request, sess Session) {
	s.caseAction(w, r, sess, func(id uuid.UUID) error {
		_, err := s.d.CitizenService.VerifyProxy(r.Context(), id, workflows.ProxyVerification{
			Valid: r.FormValue("valid") == "ja", Reason: strings.TrimSpace(r.FormValue("reason")), Caseworker: sess.Caseworker})
		var fe *fielderr.Error
		var list fielderr.List
		if errors.As(err, &list) && len(list) > 0 {
			fe = list[0]
		} else if !errors.As(err, &fe) {
			return err
		}
		if fe.Field == "reason" {
			return &fielderr.Error{Field: "proxy-reason", Rule: fe.Rule} // beside the proxy form, not the decision's
		}
		return err
	}, "Fuldmagten er vurderet.")
}

func (s *Site) decide(w http.ResponseWriter, r *http.Request, sess Session) {
	s.caseAction(w, r, sess, func(id uuid.UUID) error {
		_, err := s.d.CitizenService.Decide(r.Context(), id, workflows.Decision{
			Approve: r.FormValue("approve") == "ja", Reason: strings.TrimSpace(r.FormValue("reason")), Caseworker: sess.Caseworker,
			Grounds: r.Form["grounds"]})
		return err
	}, "Afgørelsen er truffet, og borgeren får et brev om den.")
}

// caseAction runs an Update on the case; a validator's refusal is shown beside the form.
func (s *Site) caseAction(w http.ResponseWriter, r *http.Request, sess Session, do func(uuid.UUID) error, done string) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, sess, http.StatusNotFound, "Sagen findes ikke", "")
		return
	}
	err = do(id)
	if msgs, refused := fieldErrors(err); refused {
		s.renderCase(w, r, sess, http.StatusUnprocessableEntity, page{Errors: msgs})
		return
	}
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &app):
		s.renderCase(w, r, sess, http.StatusConflict, page{Error: app.Message()})
		return
	case errors.Is(err, borgerservice.ErrCaseClosed):
		s.renderCase(w, r, sess, http.StatusConflict, page{Error: "Sagen er afsluttet; der kan ikke gøres mere i den."})
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	s.redirectWithNotice(w, r, "/sagsbehandler/sager/"+id.String(), done)
}

// reEnrol is an exempt citizen coming back to Digital Post.
func (s *Site) reEnrol(w http.ResponseWriter, r *http.Request, sess Session) {
	form := applicationForm{EnrolCPR: r.FormValue("cpr")}
	c, err := s.d.CitizenService.Enrol(r.Context(), form.EnrolCPR)
	if msgs, refused := fieldErrors(err); refused {
		if m, ok := msgs["cpr"]; ok {
			delete(msgs, "cpr")
			msgs["enrol-cpr"] = m
		}
		s.showQueue(w, r, sess, http.StatusUnprocessableEntity, page{Errors: msgs}, form)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirectWithNotice(w, r, "/sagsbehandler", c.Name+" er tilmeldt Digital Post igen.")
}
