package api

import (
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strings"

	"digitalpost/internal/adapters/printhouse"
)

// receiptAnswer says what each receipt did, in the order they came.
type receiptAnswer struct {
	Receipts []receiptEffect `json:"receipts"`
}

type receiptEffect struct {
	JobID   string `json:"job_id"`
	Outcome string `json:"outcome"`
	Effect  string `json:"effect"`
}

// printReceipts takes a production print house's receipts, one or a JSON array, behind its
// own token (PRINT_HOUSE_TOKEN), not a sender's key. Each is applied as a receipt file would
// be: duplicates, receipts out of order and unknown job ids are recorded and answered as such.
func (s *Server) printReceipts(w http.ResponseWriter, r *http.Request) {
	token := s.cfg.PrintHouseToken
	given, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" || subtle.ConstantTimeCompare([]byte(given), []byte(token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="digitalpost-print-house"`)
		writeProblem(w, Problem{Type: problemBase + "unauthorized", Title: "the print house's token is needed: Authorization: Bearer <PRINT_HOUSE_TOKEN>",
			Status: http.StatusUnauthorized})
		return
	}
	if r.ContentLength > MaxSmallBytes {
		tooLarge(w, MaxSmallBytes)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSmallBytes))
	var over *http.MaxBytesError
	if errors.As(err, &over) {
		tooLarge(w, over.Limit)
		return
	}
	if err != nil {
		malformed(w, "body", "cannot be read: "+err.Error())
		return
	}
	list, err := printhouse.ParseReceipts(body)
	if badInput(w, err) {
		return
	}
	out := receiptAnswer{Receipts: []receiptEffect{}}
	for _, rc := range list {
		effect, err := s.desk.ApplyPrintReceipt(r.Context(), rc, "http")
		if err != nil {
			serverError(w, r, err)
			return
		}
		out.Receipts = append(out.Receipts, receiptEffect{JobID: rc.JobID, Outcome: rc.Outcome, Effect: string(effect)})
	}
	writeJSON(w, http.StatusOK, out)
}
