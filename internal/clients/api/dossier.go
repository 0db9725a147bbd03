package api

import (
	"errors"
	"fmt"
	"net/http"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/dossier"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
)

// getDossier answers one of the sender's letters' delivery dossier, signed: JSON by default,
// the same printed as a PDF with format=pdf. Either verifies offline (`starter dossier verify`).
func (s *Server) getDossier(w http.ResponseWriter, r *http.Request) {
	id, ok := letterID(w, r)
	if !ok {
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "pdf" {
		badInput(w, &fielderr.Error{Field: "format", Rule: "must be json or pdf"})
		return
	}
	file, err := s.desk.Dossier(r.Context(), senderOf(r), id, format == "pdf")
	switch {
	case errors.Is(err, letters.ErrNotFound):
		notFound(w, "letter")
		return
	case errors.Is(err, postoffice.ErrNoSigningKey):
		writeProblem(w, Problem{Type: problemBase + "no-signing-key", Status: http.StatusServiceUnavailable,
			Title: "dossiers cannot be signed here: no signing key is set", Detail: "set DOSSIER_SIGNING_KEYS or PAYLOAD_KEYS"})
		return
	case err != nil:
		serverError(w, r, err)
		return
	}
	h := w.Header()
	name := "dossier-" + id.String()
	if format == "pdf" {
		h.Set("Content-Type", "application/pdf")
		name += ".pdf"
	} else {
		h.Set("Content-Type", "application/json")
		name += ".json"
	}
	// Kept byte for byte as signed: a download, never re-encoded on its way.
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(file)
}

// dossierKeys lists the public keys dossiers are verified with. Public: anyone given a dossier
// (an appeals body) checks it with them.
func (s *Server) dossierKeys(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Keys []dossier.PublicKey `json:"keys"`
	}{s.desk.DossierKeys()})
}
