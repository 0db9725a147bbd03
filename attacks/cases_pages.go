package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/registry"
	"digitalpost/workflows"
)

// Citizens: other people's letters, roles, sessions.

func citizenOpensOthersLetter(ctx context.Context, w *world) (string, string, string, bool) {
	r := w.page(w.boSession, "/breve/"+w.letterMain.String())
	ok, state := w.unopened(ctx, w.letterMain)
	leaked := strings.Contains(r.body, "Du er indkaldt")
	return "citizen Bo: GET /breve/{Anna's letter}", r.String(), state + "; " + leakedWord(leaked, "text"), r.status == http.StatusNotFound && ok && !leaked
}

func citizenOpensOthersDocument(ctx context.Context, w *world) (string, string, string, bool) {
	r := w.page(w.boSession, "/breve/"+w.letterMain.String()+"/dokumenter/1")
	ok, state := w.unopened(ctx, w.letterMain)
	leaked := strings.HasPrefix(r.body, "%PDF")
	return "citizen Bo: GET /breve/{Anna's letter}/dokumenter/1", r.String(), state + "; " + leakedWord(leaked, "the PDF"), r.status == http.StatusNotFound && ok && !leaked
}

func citizenOpensOthersWithdrawn(ctx context.Context, w *world) (string, string, string, bool) {
	r := w.page(w.boSession, "/breve/"+w.letterWithdrawn.String())
	ok, state := w.unopened(ctx, w.letterWithdrawn)
	told := strings.Contains(r.body, "trukket tilbage")
	return "citizen Bo: GET /breve/{Anna's withdrawn letter}", r.String(), state + "; " + leakedWord(told, "that it exists and was withdrawn"),
		r.status == http.StatusNotFound && ok && !told
}

func delegateAfterRevocation(ctx context.Context, w *world) (string, string, string, bool) {
	box := w.page(w.dorteSession, "/postkasse/"+w.anna.ID)
	letter := w.page(w.dorteSession, "/breve/"+w.letterMain.String())
	ok, state := w.unopened(ctx, w.letterMain)
	leaked := strings.Contains(box.body, "Indkaldelse til scanning") || strings.Contains(letter.body, "Du er indkaldt")
	return "Dorte, access revoked: GET /postkasse/{Anna} and /breve/{Anna's letter}", fmt.Sprintf("%s, %s", box, letter),
		state + "; " + leakedWord(leaked, "Anna's post"), box.status == http.StatusNotFound && letter.status == http.StatusNotFound && ok && !leaked
}

func answerOthersRequest(ctx context.Context, w *world) (string, string, string, bool) {
	r := w.form(w.boSession, "/adgang/"+w.requestBo.String()+"/svar", url.Values{"svar": {"accepter"}})
	time.Sleep(300 * time.Millisecond)
	st := w.grantStatus(ctx, w.requestBo)
	return "citizen Bo accepts his own request to read Anna's post (only Anna may): POST /adgang/{id}/svar", r.String(),
		"request " + string(st), r.status != http.StatusSeeOther && st == access.Requested
}

func citizenOnOtherRolesPages(ctx context.Context, w *world) (string, string, string, bool) {
	cw := w.page(w.boSession, "/sagsbehandler")
	cs := w.page(w.boSession, "/sagsbehandler/sager/"+w.caseFrede.String())
	snd := w.page(w.boSession, "/afsender")
	apply := w.form(w.boSession, "/sagsbehandler/sager/"+w.caseFrede.String()+"/afgoerelse", url.Values{"afgoerelse": {"godkend"}, "begrundelse": {"x"}})
	c, _ := w.engine.Cases.Get(ctx, w.caseFrede)
	return "citizen Bo: GET /sagsbehandler, /sagsbehandler/sager/{id}, /afsender; POST a decision",
		fmt.Sprintf("%s, %s, %s, %s", cw, cs, snd, apply), "case " + string(c.Status),
		cw.status == 403 && cs.status == 403 && snd.status == 403 && apply.status == 403 && c.Status == "awaiting_decision"
}

func tamperedSession(ctx context.Context, w *world) (string, string, string, bool) {
	name, value, _ := strings.Cut(w.boSession, "=")
	b := []byte(value)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	r := w.page(name+"="+string(b), "/postkasse")
	loc := r.header.Get("Location")
	return "Bo's session cookie with one character changed: GET /postkasse", fmt.Sprintf("%s → %s", r, loc), "none",
		r.status == http.StatusSeeOther && strings.HasPrefix(loc, "/log-ind")
}

func devSignInWithoutDev(ctx context.Context, w *world) (string, string, string, bool) {
	r := w.form("", "/dev/log-ind", url.Values{"role": {"caseworker"}, "caseworker": {"mallory"}})
	c := w.form("", "/dev/log-ind", url.Values{"cpr": {w.anna.CPR}})
	signedIn := cookieOf(r, "dp_session") != "" || cookieOf(c, "dp_session") != ""
	return "POST /dev/log-ind as a caseworker and as Anna (worker without -dev)", fmt.Sprintf("%s, %s", r, c), writtenWord(signedIn, "a session"),
		r.status == http.StatusNotFound && c.status == http.StatusNotFound && !signedIn
}

func openRedirects(ctx context.Context, w *world) (string, string, string, bool) {
	var got []string
	held := true
	for _, next := range []string{"//evil.com", `/\evil.com`, "/%2F%2Fevil.com", "javascript:alert(1)", "https://evil.com", "/\t/evil.com"} {
		run, err := w.oidcBegin(citizenClaims(w.anna), next)
		if err != nil {
			return "open redirect", err.Error(), "", false
		}
		r := run.finish(true)
		loc := r.header.Get("Location")
		got = append(got, fmt.Sprintf("%q→%s", next, loc))
		held = held && r.status == http.StatusSeeOther && loc == "/postkasse"
	}
	return "sign in with videre = //evil.com, /\\evil.com, /%2F%2Fevil.com, javascript:, https://evil.com, /<tab>/evil.com",
		strings.Join(got, " "), "none", held
}

func crossSitePosts(ctx context.Context, w *world) (string, string, string, bool) {
	forms := map[string]url.Values{
		"/profil":        {"email": {"mallory@evil.example"}, "mobile": {""}},
		"/profil/nemsms": {"action": {"afmeld"}},
		"/adgang/anmod":  {"cpr": {w.bo.CPR}},
		"/adgang/" + w.requestBo.String() + "/svar": {"svar": {"accepter"}},
		"/log-ud":                     {},
		"/log-ind/afsender":           {"key": {w.keyA}},
		"/sagsbehandler/ansoegninger": {"cpr": {w.anna.CPR}},
		"/sagsbehandler/sager/" + w.caseFrede.String() + "/afgoerelse": {"afgoerelse": {"godkend"}},
		"/sagsbehandler/sager/" + w.caseFrede.String() + "/fuldmagt":   {"gyldig": {"ja"}},
		"/sagsbehandler/genindmeldelse":                                {"cpr": {w.anna.CPR}},
	}
	var bad []string
	for path, v := range forms {
		if r := w.crossSite(w.annaSession, path, v); r.status != http.StatusForbidden {
			bad = append(bad, fmt.Sprintf("%s %s", path, r))
		}
	}
	c, _ := w.engine.Registry.Citizen(ctx, uuid.MustParse(w.anna.ID))
	changed := c.Email != w.anna.Email
	sub, err := w.engine.NemSMS.SubscriptionOf(ctx, uuid.MustParse(w.anna.ID))
	unsubscribed := err != nil || !sub.Active()
	requests := w.count(ctx, `SELECT count(*) FROM reading_access WHERE delegate_id = $1`, uuid.MustParse(w.anna.ID))
	got := fmt.Sprintf("403 for all %d forms", len(forms))
	if len(bad) > 0 {
		got = "not 403: " + strings.Join(bad, ", ")
	}
	return fmt.Sprintf("POST each of the %d page forms from https://evil.example with Anna's session", len(forms)), got,
		fmt.Sprintf("e-mail changed %t, NemSMS cancelled %t, requests made as Anna %d", changed, unsubscribed, requests),
		len(bad) == 0 && !changed && !unsubscribed && requests == 0
}

func scriptsAreEscaped(ctx context.Context, w *world) (string, string, string, bool) {
	box := w.page(w.annaSession, "/postkasse")
	eva := w.page(w.evaSession, "/postkasse")
	fileName := "file name refused (422)"
	var letter reply
	if w.letterXSSName != uuid.Nil {
		letter = w.page(w.annaSession, "/breve/"+w.letterXSSName.String())
		fileName = "letter page " + letter.String()
	}
	raw := func(r reply) bool { return strings.Contains(r.body, "<svg onload") }
	shown := strings.Contains(box.body, "&lt;svg onload") && strings.Contains(eva.body, "&lt;svg onload")
	return "`" + xss + "` as a subject (mailbox), a citizen's name (header), a file name (letter page)",
		fmt.Sprintf("mailbox %s, Eva's page %s, %s", box, eva, fileName),
		leakedWord(raw(box) || raw(eva) || raw(letter), "raw markup in a page"),
		box.status == 200 && eva.status == 200 && shown && !raw(box) && !raw(eva) && !raw(letter)
}

func phishingNotice(ctx context.Context, w *world) (string, string, string, bool) {
	text := "Ring straks til 70 12 34 56 og oplys dit CPR-nummer"
	var got []string
	shown := false
	for _, path := range []string{"/postkasse", "/profil", "/log-ind"} {
		r := w.page(w.annaSession, path+"?besked="+url.QueryEscape(text))
		got = append(got, fmt.Sprintf("%s %s", path, r))
		shown = shown || strings.Contains(r.body, "Ring straks")
	}
	return "GET /postkasse, /profil, /log-ind with ?besked=<phishing text>", strings.Join(got, ", "),
		leakedWord(shown, "the text shown as a notice"), !shown
}

// OpenID Connect: the site must refuse every callback it did not start or cannot trust.

func oidcRefused(name string, as func(w *world) signInAs, finish func(run oidcRun) reply) func(context.Context, *world) (string, string, string, bool) {
	return func(ctx context.Context, w *world) (string, string, string, bool) {
		run, err := w.oidcBegin(as(w), "")
		if err != nil {
			return name, err.Error(), "", false
		}
		r := finish(run)
		session := cookieOf(r, "dp_session")
		return name, r.String(), writtenWord(session != "", "a session"), r.status == http.StatusUnauthorized && session == ""
	}
}

func honest(w *world) signInAs { return citizenClaims(w.anna) }

func lying(key string, value any) func(w *world) signInAs {
	return func(w *world) signInAs {
		as := citizenClaims(w.anna)
		as.override = map[string]any{key: value}
		return as
	}
}

func withoutCookie(run oidcRun) reply { return run.finish(false) }
func withCookie(run oidcRun) reply    { return run.finish(true) }

func wrongState(run oidcRun) reply {
	u, _ := url.Parse(run.callback)
	q := u.Query()
	q.Set("state", "forged-"+q.Get("state"))
	u.RawQuery = q.Encode()
	return oidcRun{flowCookie: run.flowCookie, callback: u.String()}.finish(true)
}

// replayedCode uses the code once, as the citizen's browser does, then again as an attacker
// who copied the callback and the flow cookie.
func replayedCode(run oidcRun) reply {
	if first := run.finish(true); first.status != http.StatusSeeOther {
		return reply{status: -first.status}
	}
	return run.finish(true)
}

func noCPR(w *world) signInAs {
	return signInAs{claims: map[string]any{"sub": "mitid-x", "name": w.anna.Name, "acr": acrSubstantial}}
}

func lowAssurance(w *world) signInAs {
	as := citizenClaims(w.anna)
	as.claims["acr"] = acrLow
	return as
}

// delegateAfter: a citizen gives a delegate reading access (granted by a caseworker), the
// delegate sees the citizen's mailbox (the control), and then end happens to the citizen;
// from then on the delegate sees nothing and opens nothing.
func delegateAfter(event string, end func(ctx context.Context, w *world, owner person) error) func(context.Context, *world) (string, string, string, bool) {
	return func(ctx context.Context, w *world) (string, string, string, bool) {
		tried := "delegate after the citizen's " + event + ": GET /postkasse/{citizen} and /breve/{citizen's letter}"
		owner, err1 := w.citizen(ctx, "Ejer "+event)
		delegate, err2 := w.citizen(ctx, "Fuldmægtig "+event)
		if err1 != nil || err2 != nil {
			return tried, fmt.Sprint(err1, err2), "", false
		}
		grant, err := w.engine.Desk.GrantReadingAccess(ctx, "cw1", delegate.CPR, owner.CPR)
		if err != nil {
			return tried, "grant: " + err.Error(), "", false
		}
		if !eventually(ctx, 30*time.Second, func() bool { return w.grantStatus(ctx, grant) == access.Granted }) {
			return tried, "access never granted", "", false
		}
		r := w.api(w.keyA, http.MethodPost, "/v1/letters", mustJSON(map[string]string{"message_id": "delegate-" + event,
			"recipient_cpr": owner.CPR, "subject": "Til fuldmagt " + event, "text": "Kun for ejeren."}))
		letter, err := uuid.Parse(jsonField(r.body, "id"))
		if err != nil || !eventually(ctx, 45*time.Second, func() bool { _, ok := w.mailboxEntry(ctx, letter); return ok }) {
			return tried, fmt.Sprintf("letter %s %.200s", r, r.body), "", false
		}
		session, err := w.signIn(delegate)
		if err != nil {
			return tried, err.Error(), "", false
		}
		control := w.page(session, "/postkasse/"+owner.ID)
		sawBefore := control.status == http.StatusOK && strings.Contains(control.body, "Til fuldmagt "+event)
		if err := end(ctx, w, owner); err != nil {
			return tried, event + ": " + err.Error(), "", false
		}
		suspended := eventually(ctx, 30*time.Second, func() bool { return w.grantStatus(ctx, grant) == access.Suspended })
		box := w.page(session, "/postkasse/"+owner.ID)
		doc := w.page(session, "/breve/"+letter.String())
		ok, state := w.unopened(ctx, letter)
		leaked := strings.Contains(box.body, "Til fuldmagt") || strings.Contains(doc.body, "Kun for ejeren")
		return tried, fmt.Sprintf("before: mailbox %s (letter listed: %t); after: %s, %s; access %s", control, sawBefore, box, doc, w.grantStatus(ctx, grant)),
			state + "; " + leakedWord(leaked, "the citizen's post"),
			sawBefore && suspended && box.status == http.StatusNotFound && doc.status == http.StatusNotFound && ok && !leaked
	}
}

// exemptByDecision: the citizen applies for exemption at the citizen service and a
// caseworker approves it; the case's workflow marks the citizen exempt.
func exemptByDecision(ctx context.Context, w *world, owner person) error {
	caseID, err := w.engine.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: owner.CPR, Grounds: []string{"no-mitid"},
		MunicipalityID: "aarhus-kommune", Caseworker: "cw1"})
	if err != nil {
		return err
	}
	if _, err := w.engine.Desk.Decide(ctx, caseID, workflows.Decision{Approve: true, Reason: "Mangler digitale færdigheder", Caseworker: "cw1"}); err != nil {
		return err
	}
	cid, _ := uuid.Parse(owner.ID)
	if !eventually(ctx, 30*time.Second, func() bool {
		c, err := w.engine.Registry.Citizen(ctx, cid)
		return err == nil && c.Enrolment == registry.Exempt
	}) {
		return fmt.Errorf("case %s approved, but the citizen was never marked exempt", caseID)
	}
	return nil
}

// recordDeath: the CPR register reports the citizen dead.
func recordDeath(ctx context.Context, w *world, owner person) error {
	_, err := w.engine.Desk.RecordDeath(ctx, owner.CPR, time.Now().AddDate(0, 0, -1))
	return err
}
