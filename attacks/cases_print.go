package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/adapters/printhouse"
)

// The print house's receipts: out of order, for what was not ordered, and from a file that is
// not in its folder.

// paperLetter sends, as the victim sender, an economy letter to a new exempt citizen and waits
// for its print job; it returns the letter and the job id.
func (w *world) paperLetter(ctx context.Context, messageID string) (uuid.UUID, string, error) {
	p, err := w.citizen(ctx, "Papir "+messageID)
	if err != nil {
		return uuid.Nil, "", err
	}
	cid, _ := uuid.Parse(p.ID)
	if err := w.engine.Registry.SetExempt(ctx, cid, time.Now()); err != nil {
		return uuid.Nil, "", err
	}
	r := w.api(w.keyA, http.MethodPost, "/v1/letters", mustJSON(map[string]string{"message_id": messageID, "recipient_cpr": p.CPR,
		"subject": "På papir", "text": "Hej.", "postal_category": "economy"}))
	id, err := uuid.Parse(jsonField(r.body, "id"))
	if r.status != http.StatusCreated || err != nil {
		return uuid.Nil, "", fmt.Errorf("paper letter: %s %.200s", r, r.body)
	}
	var job string
	if !eventually(ctx, 45*time.Second, func() bool {
		_ = w.db.QueryRow(ctx, `SELECT job_id FROM print_jobs WHERE letter_id = $1 AND purpose = 'paper-route'`, id).Scan(&job)
		return job != "" && w.letterStatus(ctx, id) == "printed"
	}) {
		return id, job, fmt.Errorf("paper letter %s: no print job (status %s)", id, w.letterStatus(ctx, id))
	}
	return id, job, nil
}

func (w *world) jobOutcome(ctx context.Context, job string) string {
	var o string
	_ = w.db.QueryRow(ctx, `SELECT outcome FROM print_jobs WHERE job_id = $1`, job).Scan(&o)
	return o
}

// receipt posts receipts as the print house, with its token.
func (w *world) receipt(job, outcome string, at time.Time) reply {
	rc := map[string]string{"job_id": job, "outcome": outcome, "at": at.UTC().Format(time.RFC3339)}
	if outcome == printhouse.Failed {
		rc["reason"] = "papirstop"
	}
	return send(http.MethodPost, w.base+"/v1/print-receipts", strings.NewReader(mustJSON([]map[string]string{rc})),
		"Authorization", "Bearer "+w.printToken, "Content-Type", "application/json")
}

// receiptsOutOfOrder: a paper letter comes back (returned, applied: the control), and then
// receipts that would move it back arrive: posted, failed. Neither may change it.
func receiptsOutOfOrder(ctx context.Context, w *world) (string, string, string, bool) {
	id, job, err := w.paperLetter(ctx, "paper-order")
	if err != nil {
		return "receipts out of order", err.Error(), "", false
	}
	now := time.Now()
	returned := w.receipt(job, printhouse.Returned, now)
	st1 := w.letterStatus(ctx, id)
	posted := w.receipt(job, printhouse.Posted, now.Add(-time.Hour))
	failed := w.receipt(job, printhouse.Failed, now.Add(time.Minute))
	st2, outcome := w.letterStatus(ctx, id), w.jobOutcome(ctx, job)
	return "print house: `returned` for a paper letter (control), then `posted` and `failed` for the same job",
		fmt.Sprintf("returned %s %s → letter %s; posted %s %s; failed %s %s", returned, effects(returned.body), st1, posted, effects(posted.body), failed, effects(failed.body)),
		fmt.Sprintf("letter status %s, job outcome %s", st2, outcome),
		effects(returned.body) == "applied" && st1 == "returned" && effects(posted.body) == "out_of_order" &&
			effects(failed.body) == "out_of_order" && st2 == "returned" && outcome == "returned"
}

// deliveredForEconomy: proof of delivery exists only for registered post; a `delivered` for
// an economy letter is the print house's mistake and moves nothing.
func deliveredForEconomy(ctx context.Context, w *world) (string, string, string, bool) {
	id, job, err := w.paperLetter(ctx, "paper-economy")
	if err != nil {
		return "delivered for economy post", err.Error(), "", false
	}
	before := w.letterStatus(ctx, id)
	r := w.receipt(job, printhouse.Delivered, time.Now())
	after, outcome := w.letterStatus(ctx, id), w.jobOutcome(ctx, job)
	return "print house: `delivered` (with proof) for an economy letter's job", fmt.Sprintf("%s %s", r, effects(r.body)),
		fmt.Sprintf("letter status %s → %s, job outcome %s", before, after, outcome),
		effects(r.body) != "applied" && before == after && outcome == "spooled"
}

// symlinkedReceiptFile: whoever can write in the receipts folder (the print house's drop, an
// SFTP account) leaves there a link to a file elsewhere on the worker's machine. The folder
// must not read through it. The file behind the link is a receipt that would return a letter,
// so reading it shows; a plain file beside it (the control) is read.
func symlinkedReceiptFile(ctx context.Context, w *world) (string, string, string, bool) {
	id, job, err := w.paperLetter(ctx, "paper-symlink")
	if err != nil {
		return "symlinked receipt file", err.Error(), "", false
	}
	dir := printhouse.ReceiptsDir(filepath.Join(w.dir, "spool"))
	outside := filepath.Join(w.dir, "outside")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "symlinked receipt file", err.Error(), "", false
	}
	if err := os.MkdirAll(outside, 0o750); err != nil {
		return "symlinked receipt file", err.Error(), "", false
	}
	target := filepath.Join(outside, "kvittering.json")
	content := mustJSON([]map[string]string{{"job_id": job, "outcome": "returned", "reason": "via link", "at": time.Now().UTC().Format(time.RFC3339)}})
	control := mustJSON([]map[string]string{{"job_id": "attack-control-" + uuid.NewString(), "outcome": "posted", "at": time.Now().UTC().Format(time.RFC3339)}})
	if err := os.WriteFile(target, []byte(content), 0o640); err != nil {
		return "symlinked receipt file", err.Error(), "", false
	}
	if err := os.Symlink(target, filepath.Join(dir, "a-link.json")); err != nil {
		return "symlinked receipt file", err.Error(), "", false
	}
	// Written under another name and renamed, as a print house should, so it is read whole.
	if err := os.WriteFile(filepath.Join(dir, "b-control.tmp"), []byte(control), 0o640); err != nil {
		return "symlinked receipt file", err.Error(), "", false
	}
	_ = os.Rename(filepath.Join(dir, "b-control.tmp"), filepath.Join(dir, "b-control.json"))
	controlRead := eventually(ctx, 15*time.Second, func() bool {
		return w.count(ctx, `SELECT count(*) FROM print_receipts WHERE source = 'file b-control.json'`) > 0
	})
	time.Sleep(500 * time.Millisecond)
	viaLink := w.count(ctx, `SELECT count(*) FROM print_receipts WHERE source = 'file a-link.json' OR job_id = $1`, job)
	st, outcome := w.letterStatus(ctx, id), w.jobOutcome(ctx, job)
	after, _ := os.ReadFile(target)
	read := "not read through"
	if viaLink > 0 {
		read = "READ THROUGH the link"
	}
	return "a symlink a-link.json in the receipts folder to a receipt file outside it (control: a plain file beside it)",
		fmt.Sprintf("control read: %t; link %s: %d receipt(s) recorded for the letter's job", controlRead, read, viaLink),
		fmt.Sprintf("letter status %s, job outcome %s; file behind the link intact: %t", st, outcome, string(after) == content),
		controlRead && viaLink == 0 && st == "printed" && outcome == "spooled" && string(after) == content
}
