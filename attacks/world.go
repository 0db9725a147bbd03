package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/access"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
)

// world is the system under attack with what the attacks need in it: senders with keys,
// citizens signed in, letters delivered, a batch, a NemSMS message, a reading-access request
// waiting for its citizen, one revoked, an exemption case waiting for its decision, and
// webhooks pointed inward.
type world struct {
	*env

	keyA, keyB, keyC, keyDocs, keyBurst string // region-midt (the victim), aarhus-kommune, skat, dokument, burst
	revokedKey                          string

	anna, bo, dorte, eva, frede person // Anna owns the letters; Bo attacks; Dorte's access was revoked; Eva's name is a script
	annaSession, boSession      string
	dorteSession, evaSession    string

	letterMain      uuid.UUID // to Anna, with a document and an appointment
	letterWithdrawn uuid.UUID // to Anna, withdrawn by its sender
	letterForged    uuid.UUID // to Anna, waiting for its opening
	letterXSSName   uuid.UUID // to Anna, digital-only, with a document whose file name is a script (uuid.Nil: refused)
	batchA          string
	nemsmsA         string
	requestBo       uuid.UUID // Bo asks to read Anna's post; only Anna may answer
	revokedGrant    uuid.UUID
	caseFrede       uuid.UUID
	letterReplies   uuid.UUID // to Anna, takes replies
	annaReply       uuid.UUID // Anna's reply to it, with a PDF

	hookSenders map[string]string // webhook URL → sender id
}

const xss = `"><svg onload=alert(1)>`

func prepare(ctx context.Context, e *env) (*world, error) {
	w := &world{env: e, hookSenders: map[string]string{}}
	var err error
	for _, s := range []registry.Sender{{ID: "dokument", Organisation: "Dokument Kommune"}} {
		if err := e.engine.Registry.AddSender(ctx, s); err != nil {
			return w, err
		}
	}
	for id, key := range map[string]*string{"region-midt": &w.keyA, "aarhus-kommune": &w.keyB, "skat": &w.keyC, "dokument": &w.keyDocs, "burst": &w.keyBurst} {
		if _, *key, err = e.engine.APIKeys.Create(ctx, id); err != nil {
			return w, err
		}
	}
	k, revoked, err := e.engine.APIKeys.Create(ctx, "aarhus-kommune")
	if err != nil {
		return w, err
	}
	if err := e.engine.APIKeys.Revoke(ctx, "aarhus-kommune", k.ID); err != nil {
		return w, err
	}
	w.revokedKey = revoked

	for name, p := range map[string]*person{"Anna Angrebsen": &w.anna, "Bo Bagdør": &w.bo, "Dorte Delegeret": &w.dorte,
		"Eva " + xss: &w.eva, "Frede Fritaget": &w.frede} {
		if *p, err = e.citizen(ctx, name); err != nil {
			return w, fmt.Errorf("citizen %s: %w", name, err)
		}
	}

	// The victim sender's letters, through its own API.
	letter := func(key string, fields map[string]any) (uuid.UUID, error) {
		r := w.api(key, http.MethodPost, "/v1/letters", mustJSON(fields))
		if r.status != http.StatusCreated {
			return uuid.Nil, fmt.Errorf("letter %v: %s %.300s", fields["message_id"], r, r.body)
		}
		return uuid.Parse(jsonField(r.body, "id"))
	}
	if w.letterMain, err = letter(w.keyA, map[string]any{"message_id": "main", "recipient_cpr": w.anna.CPR, "subject": "Indkaldelse til scanning",
		"text": "Du er indkaldt.", "appointment_at": time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339),
		"documents": []map[string]string{{"filename": "indkaldelse.pdf", "content_type": "application/pdf", "content": b64(handmadePDF("", ""))}}}); err != nil {
		return w, err
	}
	if w.letterWithdrawn, err = letter(w.keyA, map[string]any{"message_id": "withdrawn", "recipient_cpr": w.anna.CPR, "subject": "Trukket tilbage", "text": "Fejl."}); err != nil {
		return w, err
	}
	if w.letterForged, err = letter(w.keyA, map[string]any{"message_id": "forged", "recipient_cpr": w.anna.CPR, "subject": "Afgørelse", "text": "Læs mig."}); err != nil {
		return w, err
	}
	if _, err = letter(w.keyA, map[string]any{"message_id": "xss-subject", "recipient_cpr": w.anna.CPR, "subject": "Svar " + xss, "text": "Hej."}); err != nil {
		return w, err
	}
	// A file name that is markup: refused (422) is as good as escaped; the case says which.
	if r := w.api(w.keyA, http.MethodPost, "/v1/letters", mustJSON(map[string]any{"message_id": "xss-file", "recipient_cpr": w.anna.CPR,
		"subject": "Bilag", "text": "Se bilag.", "digital_only": true,
		"documents": []map[string]string{{"filename": xss + ".pdf", "content_type": "application/pdf", "content": b64(handmadePDF("", ""))}}})); r.status == http.StatusCreated {
		w.letterXSSName, _ = uuid.Parse(jsonField(r.body, "id"))
	}
	if err := e.engine.PostOffice.Post.AddContactPoint(ctx, citizenpost.ContactPoint{SenderID: "region-midt", ID: "roentgen", Name: "Røntgen"}); err != nil {
		return w, err
	}
	if w.letterReplies, err = letter(w.keyA, map[string]any{"message_id": "replies", "recipient_cpr": w.anna.CPR, "subject": "Partshøring",
		"text": "Svar gerne.", "replies_allowed": true, "reply_contact_point": "roentgen"}); err != nil {
		return w, err
	}
	for _, id := range []uuid.UUID{w.letterMain, w.letterWithdrawn, w.letterForged, w.letterXSSName, w.letterReplies} {
		if id != uuid.Nil && !eventually(ctx, 60*time.Second, func() bool { _, ok := w.mailboxEntry(ctx, id); return ok }) {
			return w, fmt.Errorf("letter %s never reached the mailbox", id)
		}
	}
	annaID, err := uuid.Parse(w.anna.ID)
	if err != nil {
		return w, err
	}
	m, _, err := e.engine.PostOffice.Reply(ctx, postoffice.CitizenPost{Author: annaID, LetterID: w.letterReplies, Text: "Mit svar med CPR-oplysninger.",
		Files: []letters.Document{{Filename: "svar.pdf", Content: handmadePDF("", "")}}, FormKey: "anna-1"})
	if err != nil {
		return w, fmt.Errorf("Anna's reply: %w", err)
	}
	w.annaReply = m.ID
	if r := w.api(w.keyA, http.MethodPost, "/v1/letters/"+w.letterWithdrawn.String()+"/withdraw", `{"reason":"sendt ved en fejl"}`); r.status != http.StatusOK {
		return w, fmt.Errorf("withdraw: %s %.300s", r, r.body)
	}

	r := w.apiRaw(w.keyA, http.MethodPost, "/v1/batches", "text/csv", []byte("message_id,to,subject,text\nb1,"+w.anna.CPR+",Kørsel,Tekst\n"))
	if w.batchA = jsonField(r.body, "batch_id"); w.batchA == "" {
		return w, fmt.Errorf("batch: %s %.300s", r, r.body)
	}
	if _, err := e.engine.Desk.SubscribeNemSMS(ctx, w.anna.CPR, e.cfg.NemSMSTerms, w.anna.Mobile); err != nil {
		return w, fmt.Errorf("NemSMS subscription: %w", err)
	}
	r = w.api(w.keyA, http.MethodPost, "/v1/nemsms", mustJSON(map[string]string{"message_id": "sms1", "recipient_cpr": w.anna.CPR, "text": "Husk din tid i morgen."}))
	if w.nemsmsA = jsonField(r.body, "id"); w.nemsmsA == "" {
		return w, fmt.Errorf("NemSMS: %s %.300s", r, r.body)
	}

	// Reading access: Bo asks to read Anna's post (waiting for Anna); Dorte had access, revoked.
	if w.requestBo, err = e.engine.Desk.RequestReadingAccess(ctx, w.bo.CPR, w.anna.CPR); err != nil {
		return w, fmt.Errorf("Bo's request: %w", err)
	}
	if w.revokedGrant, err = e.engine.Desk.GrantReadingAccess(ctx, "cw1", w.dorte.CPR, w.anna.CPR); err != nil {
		return w, fmt.Errorf("Dorte's access: %w", err)
	}
	if !eventually(ctx, 30*time.Second, func() bool { return w.grantStatus(ctx, w.revokedGrant) == access.Granted }) {
		return w, errors.New("Dorte's access was never granted")
	}
	if _, err := e.engine.Desk.RevokeReadingAccess(ctx, w.revokedGrant, w.anna.CPR); err != nil {
		return w, fmt.Errorf("revoke Dorte's access: %w", err)
	}
	if !eventually(ctx, 30*time.Second, func() bool { return w.grantStatus(ctx, w.revokedGrant) == access.Revoked }) {
		return w, errors.New("Dorte's access was never revoked")
	}
	if w.caseFrede, err = e.engine.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: w.frede.CPR, Grounds: []string{"no-mitid"},
		MunicipalityID: "aarhus-kommune", Caseworker: "cw1"}); err != nil {
		return w, fmt.Errorf("exemption case: %w", err)
	}

	for _, s := range []struct {
		session *string
		p       person
	}{{&w.annaSession, w.anna}, {&w.boSession, w.bo}, {&w.dorteSession, w.dorte}, {&w.evaSession, w.eva}} {
		if *s.session, err = w.signIn(s.p); err != nil {
			return w, err
		}
	}
	return w, w.pointWebhooksInward(ctx)
}

// webhookTargets are the receivers inside this system's network a sender tries to reach;
// the ones on this machine reach the suite's receiver if nothing stops them.
func (w *world) webhookTargets() []string {
	p := w.hooks.port
	return []string{
		fmt.Sprintf("http://127.0.0.1:%d/loopback", p),
		fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/mapped", p),
		fmt.Sprintf("http://[::1]:%d/ipv6-loopback", p),
		fmt.Sprintf("http://10.0.0.1:%d/private", p),
		"http://169.254.169.254/latest/meta-data/",
		"http://100.100.100.200/latest/meta-data/",
		fmt.Sprintf("http://[64:ff9b::7f00:1]:%d/nat64", p),
		fmt.Sprintf("http://localhost:%d/dns-name", p),
	}
}

// pointWebhooksInward gives each target a sender of its own with a webhook to it and one
// letter, so each has an event to deliver while the other attacks run.
func (w *world) pointWebhooksInward(ctx context.Context) error {
	for i, target := range w.webhookTargets() {
		id := fmt.Sprintf("hook-%d", i+1)
		if err := w.engine.Registry.AddSender(ctx, registry.Sender{ID: id, Organisation: "Krog " + id}); err != nil {
			return err
		}
		_, key, err := w.engine.APIKeys.Create(ctx, id)
		if err != nil {
			return err
		}
		w.hookSenders[target] = key
		r := w.api(key, http.MethodPut, "/v1/webhook", mustJSON(map[string]string{"url": target}))
		if r.status != http.StatusOK && r.status != http.StatusUnprocessableEntity {
			return fmt.Errorf("webhook %s: %s %.300s", target, r, r.body)
		}
		if r.status == http.StatusOK {
			if l := w.api(key, http.MethodPost, "/v1/letters", mustJSON(map[string]string{"message_id": "hook", "recipient_cpr": w.frede.CPR,
				"subject": "Krog", "text": "Hej."})); l.status != http.StatusCreated {
				return fmt.Errorf("webhook letter: %s %.300s", l, l.body)
			}
		}
	}
	return nil
}

// mailboxEntry is a letter's opened_at in the mailbox (nil: unopened); ok is false when the
// letter is not in a mailbox.
func (w *world) mailboxEntry(ctx context.Context, id uuid.UUID) (*time.Time, bool) {
	var opened *time.Time
	err := w.db.QueryRow(ctx, `SELECT opened_at FROM mailbox_entries WHERE letter_id = $1`, id).Scan(&opened)
	return opened, err == nil
}

// unopened tells whether a letter still sits unopened, and says so for the table.
func (w *world) unopened(ctx context.Context, id uuid.UUID) (bool, string) {
	opened, ok := w.mailboxEntry(ctx, id)
	switch {
	case !ok:
		return false, "letter not in the mailbox"
	case opened != nil:
		return false, "opened_at SET to " + opened.Format(time.RFC3339)
	}
	return true, "opened_at unchanged (NULL)"
}

func (w *world) grantStatus(ctx context.Context, id uuid.UUID) access.Status {
	g, err := w.engine.Access.Get(ctx, id)
	if err != nil {
		return ""
	}
	return g.Status
}

func (w *world) letterStatus(ctx context.Context, id uuid.UUID) string {
	var st string
	if err := w.db.QueryRow(ctx, `SELECT status FROM letters WHERE id = $1`, id).Scan(&st); err != nil {
		return "?" + err.Error()
	}
	return st
}

// count runs a counting query.
func (w *world) count(ctx context.Context, query string, args ...any) int {
	var n int
	if err := w.db.QueryRow(ctx, query, args...).Scan(&n); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return -1
	}
	return n
}

// handmadePDF writes a one-page PDF with a correct cross-reference table; catalogExtra and
// pageExtra go into the catalog and the page, extra objects are numbered from 4.
func handmadePDF(catalogExtra, pageExtra string, extra ...string) []byte {
	objects := append([]string{
		"<< /Type /Catalog /Pages 2 0 R " + catalogExtra + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> " + pageExtra + " >>",
	}, extra...)
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

func pdfStream(content string) string {
	return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content)
}
