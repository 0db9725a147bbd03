package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/domain/dossier"
)

// A letter's delivery dossier, as a sender hands it to an appeals body (issue 26, item 2): one
// letter opened in the mailbox, one escalated to paper and posted by the print house. Each
// dossier verifies offline with the published keys, JSON and PDF; a changed byte fails; it
// holds no CPR number and no content; another sender gets 404.
func TestADossierIsSignedAndVerifiesOffline(t *testing.T) {
	e := newAPIEnv(t, nil)
	ctx := context.Background()
	keys := e.do(t, "", http.MethodGet, "/v1/keys", "", nil)
	var published struct {
		Keys []dossier.PublicKey `json:"keys"`
	}
	keys.json(t, &published)
	if keys.Status != http.StatusOK || len(published.Keys) != 1 || !published.Keys[0].Current {
		t.Fatalf("GET /v1/keys without a key: %d %s", keys.Status, keys.Body)
	}
	verify := func(file []byte) (*dossier.Record, error) {
		_, rec, err := dossier.Verify(file, dossier.KeysOf(published.Keys))
		return rec, err
	}

	var opened letterJSON
	e.postJSON(t, e.region, "/v1/letters", newLetter("dossier-opened", annaCPR)).json(t, &opened)
	e.waitForStatus(t, e.region, opened.ID, "notified")
	if _, err := e.sys.PostOffice.ReadAs(ctx, mustUUID(t, opened.ID), annaCPR); err != nil {
		t.Fatal(err)
	}
	e.waitForStatus(t, e.region, opened.ID, "opened")

	late := newLetter("dossier-escalated", annaCPR)
	late["deadline"] = "2s"
	var escalated letterJSON
	e.postJSON(t, e.region, "/v1/letters", late).json(t, &escalated)
	e.waitForStatus(t, e.region, escalated.ID, "escalated")
	var job string
	if err := e.sys.DB.QueryRow(ctx, `SELECT job_id FROM print_jobs WHERE letter_id = $1 AND purpose = 'escalation'`, escalated.ID).Scan(&job); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sys.PostOffice.ApplyPrintReceipt(ctx, printhouse.Receipt{JobID: job, Outcome: printhouse.Posted, At: time.Now()}, "test"); err != nil {
		t.Fatal(err)
	}
	e.waitForStatus(t, e.region, escalated.ID, "posted")

	for _, c := range []struct {
		id   string
		want func(*dossier.Record) bool
	}{
		{opened.ID, func(r *dossier.Record) bool {
			return r.LegalDeliveryAt != nil && len(r.Openings) == 1 && r.Openings[0].By == "citizen" && len(r.Notices) == 2 &&
				r.Notices[0].ProviderMessageID != "" && strings.HasPrefix(r.Letter.SubmittedBy, "api-key:")
		}},
		{escalated.ID, func(r *dossier.Record) bool {
			return r.LegalDeliveryAt != nil && len(r.Openings) == 0 && len(r.PrintJobs) == 1 && r.PrintJobs[0].Purpose == "escalation" &&
				len(r.PrintJobs[0].Receipts) == 1 && r.PrintJobs[0].Receipts[0].Outcome == "posted"
		}},
	} {
		a := e.get(t, e.region, "/v1/letters/"+c.id+"/dossier")
		if a.Status != http.StatusOK {
			t.Fatalf("dossier: %d %s", a.Status, a.Body)
		}
		rec, err := verify(a.Body)
		if err != nil {
			t.Fatalf("the dossier of %s does not verify: %v", c.id, err)
		}
		if rec.Letter.ID != c.id || !c.want(rec) {
			b, _ := json.MarshalIndent(rec, "", " ")
			t.Fatalf("the dossier of %s misses evidence: %s", c.id, b)
		}
		for _, secret := range []string{annaCPR, strings.ReplaceAll(annaCPR, "-", ""), "Indkaldelse", "Du er indkaldt", "anna@example.dk", "+4520000001"} {
			if bytes.Contains(a.Body, []byte(secret)) {
				t.Fatalf("the dossier holds %q", secret)
			}
		}
		changed := bytes.Replace(a.Body, []byte(`"status":"`), []byte(`"status":"x`), 1)
		if _, err := verify(changed); err == nil {
			t.Fatal("a dossier with a changed status verified")
		}
		pdf := e.get(t, e.region, "/v1/letters/"+c.id+"/dossier?format=pdf")
		if pdf.Status != http.StatusOK || !bytes.HasPrefix(pdf.Body, []byte("%PDF")) {
			t.Fatalf("PDF dossier: %d", pdf.Status)
		}
		if _, err := verify(pdf.Body); err != nil {
			t.Fatalf("the PDF dossier does not verify: %v", err)
		}
		pdf.Body[len(pdf.Body)/2] ^= 0x20
		if _, err := verify(pdf.Body); err == nil {
			t.Fatal("a PDF dossier with a changed byte verified")
		}
		if a := e.get(t, e.skat, "/v1/letters/"+c.id+"/dossier"); a.Status != http.StatusNotFound {
			t.Fatalf("another sender's dossier: %d", a.Status)
		}
	}
	if a := e.get(t, e.region, "/v1/letters/"+opened.ID+"/dossier?format=doc"); a.Status != http.StatusUnprocessableEntity {
		t.Fatalf("format=doc: %d", a.Status)
	}
}
