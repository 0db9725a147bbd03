package postoffice

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/dossier"
	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/mailbox"
)

// ErrNoSigningKey: no DOSSIER_SIGNING_KEYS is set, so no dossier can be signed.
var ErrNoSigningKey = errors.New("no dossier signing key is set (DOSSIER_SIGNING_KEYS)")

// DossierFor gathers the evidence of one of the sender's letters (letters.ErrNotFound for
// another sender's): every step, notice, opening, print job and receipt, and the replies, with
// no CPR number, contact address or content.
func (p *PostOffice) DossierFor(ctx context.Context, sender string, id uuid.UUID) (dossier.Record, error) {
	rep, err := p.ReportFor(ctx, sender, id)
	if err != nil {
		return dossier.Record{}, err
	}
	l := rep.Letter
	r := dossier.Record{LegalDeliveryAt: l.LegalDeliveryAt,
		Letter: dossier.Letter{ID: l.ID.String(), MessageID: l.MessageID, SenderID: l.SenderID, SubmittedAt: l.CreatedAt.UTC(),
			SubmittedBy: l.SubmittedBy, Status: string(l.Status), Channel: string(l.Channel), Deadline: l.Deadline.String(),
			PostalCategory: string(l.PostalCategory), ContentSHA256: hex.EncodeToString(l.ContentHash)},
		Steps: []dossier.Step{}, Notices: []dossier.Notice{}, Openings: []dossier.Opening{}, PrintJobs: []dossier.PrintJob{}, Replies: []dossier.Reply{}}
	if r.Letter.SubmittedBy == "" {
		r.Letter.SubmittedBy = "not recorded (submitted inside the engine, or before keys were recorded on 7 December 2026)"
	}
	if l.RecipientID != nil {
		r.Letter.RecipientID = l.RecipientID.String()
	}
	if l.BatchID != nil {
		r.Letter.BatchID = l.BatchID.String()
	}
	if snd, err := p.Registry.Sender(ctx, l.SenderID); err == nil {
		r.Letter.Sender = snd.Organisation
	}
	if r.LegalDeliveryAt != nil {
		at := r.LegalDeliveryAt.UTC()
		r.LegalDeliveryAt = &at
	}
	for _, e := range rep.Timeline {
		// The channel, and only reasons the engine words itself: a sender's withdrawal reason or a
		// print house's free text may name the citizen.
		detail := e.Channel
		switch {
		case e.CitizenMessageID != nil:
			detail = "message " + e.CitizenMessageID.String()
		case e.Kind == events.NoticeFailed || strings.HasPrefix(e.Reason, "withdrawn after arrival"):
			detail = strings.TrimSpace(e.Channel + " " + e.Reason)
		}
		r.Steps = append(r.Steps, dossier.Step{At: e.At.UTC(), Event: e.Type(), Detail: detail})
	}
	for _, n := range rep.Notices {
		r.Notices = append(r.Notices, dossier.Notice{Channel: string(n.Channel), Purpose: string(n.Purpose), Outcome: n.State,
			ProviderMessageID: n.ProviderID, Attempts: n.Attempts, At: n.UpdatedAt.UTC()})
	}
	entry, err := p.Mailbox.Entry(ctx, id)
	switch {
	case err == nil && entry.OpenedAt != nil:
		by := "citizen"
		if entry.OpenedBy != nil && *entry.OpenedBy != entry.CitizenID {
			by = "delegate with reading access"
		}
		r.Openings = append(r.Openings, dossier.Opening{At: entry.OpenedAt.UTC(), By: by})
	case err != nil && !errors.Is(err, mailbox.ErrNotInMailbox):
		return r, err
	}
	receipts, err := p.Receipts.ForLetter(ctx, id)
	if err != nil {
		return r, err
	}
	for _, j := range rep.PrintJobs {
		pj := dossier.PrintJob{JobID: j.JobID, Purpose: string(j.Purpose), Reason: j.Reason, Pages: j.Pages,
			PostalCategory: j.PostalCategory, Outcome: j.Outcome, Receipts: []dossier.Receipt{}}
		for _, rc := range receipts {
			if rc.JobID == j.JobID {
				// The print house's reason is free text and may name the addressee: left out.
				pj.Receipts = append(pj.Receipts, dossier.Receipt{Outcome: rc.Outcome, At: rc.At.UTC(),
					ReceivedAt: rc.ReceivedAt.UTC(), Effect: string(rc.Effect)})
			}
		}
		r.PrintJobs = append(r.PrintJobs, pj)
	}
	for _, m := range rep.Replies {
		r.Replies = append(r.Replies, dossier.Reply{ID: m.ID.String(), At: m.CreatedAt.UTC()})
	}
	return r, nil
}

// Dossier is one of the sender's letters' dossier, signed: JSON, or the same printed as a PDF.
func (p *PostOffice) Dossier(ctx context.Context, sender string, id uuid.UUID, asPDF bool) ([]byte, error) {
	if p.Dossiers == nil {
		return nil, ErrNoSigningKey
	}
	r, err := p.DossierFor(ctx, sender, id)
	if err != nil {
		return nil, err
	}
	file, err := p.Dossiers.Seal(r, time.Now())
	if err != nil || !asPDF {
		return file, err
	}
	pdf, _, err := print.Render(print.Sheet{Organisation: "Digital Post – leveringsdossier", Date: time.Now(),
		Subject: "Leveringsdossier for brev " + r.Letter.ID, Body: dossierText(r, p.Dossiers.CurrentKey(), file), Reference: r.Letter.ID}, nil)
	if err != nil {
		return nil, fmt.Errorf("render the dossier: %w", err)
	}
	return p.Dossiers.SealPDF(pdf), nil
}

// DossierKeys are the public keys every dossier is verified with (none without a signing key).
func (p *PostOffice) DossierKeys() []dossier.PublicKey {
	if p.Dossiers == nil {
		return []dossier.PublicKey{}
	}
	return p.Dossiers.PublicKeys()
}

// dossierText is the record as the PDF prints it, with the signed JSON after it, so the paper
// carries the evidence a machine can check as well as what a reader needs.
func dossierText(r dossier.Record, key string, signed []byte) string {
	var b strings.Builder
	at := func(t time.Time) string { return t.In(calendar.Copenhagen).Format("02-01-2006 15:04:05") }
	fmt.Fprintf(&b, "Brev %s (afsenderens id %s) fra %s (%s).\n", r.Letter.ID, r.Letter.MessageID, r.Letter.Sender, r.Letter.SenderID)
	fmt.Fprintf(&b, "Indleveret %s af %s. Status: %s, kanal: %s.\n", at(r.Letter.SubmittedAt), r.Letter.SubmittedBy, r.Letter.Status, r.Letter.Channel)
	if r.LegalDeliveryAt != nil {
		fmt.Fprintf(&b, "Kom frem (retsvirkning, lov om Digital Post § 10): %s, da brevet var tilgængeligt i modtagerens digitale postkasse.\n", at(*r.LegalDeliveryAt))
	}
	b.WriteString("\nForløb:\n")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%s  %s %s\n", at(s.At), s.Event, s.Detail)
	}
	for _, n := range r.Notices {
		fmt.Fprintf(&b, "Besked %s (%s): %s efter %d forsøg, udbyderens id %s, %s\n", n.Channel, n.Purpose, n.Outcome, n.Attempts, n.ProviderMessageID, at(n.At))
	}
	for _, o := range r.Openings {
		fmt.Fprintf(&b, "Åbnet %s af %s\n", at(o.At), o.By)
	}
	for _, j := range r.PrintJobs {
		fmt.Fprintf(&b, "Printjob %s (%s, %d sider, %s): %s\n", j.JobID, j.Purpose, j.Pages, j.PostalCategory, j.Outcome)
		for _, rc := range j.Receipts {
			fmt.Fprintf(&b, "   kvittering fra printhuset: %s %s (%s)\n", rc.Outcome, at(rc.At), rc.Effect)
		}
	}
	for _, rp := range r.Replies {
		fmt.Fprintf(&b, "Svar fra borgeren %s, %s\n", rp.ID, at(rp.At))
	}
	fmt.Fprintf(&b, "\nUnderskrevet med Ed25519, nøgle %s (offentlige nøgler: GET /v1/keys). Denne PDF er underskrevet i sin sidste linje; den underskrevne JSON følger:\n\n%s", key, signed)
	return b.String()
}
