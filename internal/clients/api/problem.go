package api

import (
	"digitalpost/internal/clients/api/wire"

	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"digitalpost/internal/domain/fielderr"
)

// Problem and ProblemField are the API's refusals (package wire has the JSON).
type (
	Problem      = wire.Problem
	ProblemField = wire.ProblemField
)

const problemBase = "urn:digitalpost:problem:"

func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func notFound(w http.ResponseWriter, what string) {
	writeProblem(w, Problem{Type: problemBase + "not-found", Title: what + " not found", Status: http.StatusNotFound})
}

func serverError(w http.ResponseWriter, r *http.Request, err error) {
	logFrom(r).Error("request failed", "route", r.Pattern, "error", err)
	writeProblem(w, Problem{Type: problemBase + "internal", Title: "internal error; try again", Status: http.StatusInternalServerError})
}

// badInput answers a request whose content breaks rules: 422, each field and rule.
func badInput(w http.ResponseWriter, err error) bool {
	list, ok := fielderr.Rules(err)
	if !ok {
		return false
	}
	p := Problem{Type: problemBase + "validation", Title: "the request breaks these rules; nothing was written",
		Status: http.StatusUnprocessableEntity}
	for _, e := range list {
		p.Errors = append(p.Errors, ProblemField{Field: apiField(e.Field), Rule: e.Rule})
	}
	writeProblem(w, p)
	return true
}

// malformed answers a body that is not the JSON, CSV or form it should be: 400.
func malformed(w http.ResponseWriter, field, rule string) {
	writeProblem(w, Problem{Type: problemBase + "malformed", Title: "the request body cannot be read; nothing was written",
		Status: http.StatusBadRequest, Errors: []ProblemField{{Field: field, Rule: rule}}})
}

var documentField = regexp.MustCompile(`^document (\d+)(?: \(.*\))?$`)

// apiField names a post-office field as the API's JSON does (the post office speaks the
// CLI's flag names).
func apiField(f string) string {
	prefix := ""
	if p, rest, ok := strings.Cut(f, ": "); ok && strings.HasPrefix(p, "letter ") {
		prefix, f = p+": ", rest // a batch's "letter N: field"
	}
	switch f {
	case "to":
		if prefix != "" {
			return prefix + "to" // a batch's own column
		}
		f = "recipient_cpr"
	case "message-id":
		f = "message_id"
	case "digital-only":
		f = "digital_only"
	case "physical-only":
		f = "physical_only"
	case "deliver-at":
		f = "deliver_at"
	case "postal-category":
		f = "postal_category"
	case "appointment-at":
		f = "appointment_at"
	case "sender":
		f = "sender (the API key's)"
	default:
		if m := documentField.FindStringSubmatch(f); m != nil {
			var n int
			fmt.Sscan(m[1], &n)
			f = fmt.Sprintf("documents[%d]", n-1)
		} else {
			f = strings.ReplaceAll(f, "-", "_") // reply-by, in-reply-to, …
		}
	}
	return prefix + f
}
