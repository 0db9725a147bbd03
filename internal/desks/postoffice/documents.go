package postoffice

import (
	"fmt"
	"net/http"
	"unicode/utf8"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
)

// Kinds of document a letter may carry, as http.DetectContentType names them.
const (
	pdfDocument  = "application/pdf"
	pngDocument  = "image/png"
	jpegDocument = "image/jpeg"
	textDocument = "text/plain; charset=utf-8"
)

// documentKind is the content type a document is stored and served with, sniffed from its
// bytes, or the rule it breaks. The sender's declared type is not asked: a file declared as
// a PDF that is HTML would otherwise be stored as what it claims, and one declared as HTML
// that is a PDF is simply a PDF. A document that disagrees with its declared type is not
// refused for that alone; what it is decides.
//
// A letter that may be printed takes PDFs a print house can print. A digital-only letter is
// opened in the citizen's browser, so it takes only kinds that cannot act as a page there:
// PDF (checked as for print: no scripts, no actions that reach outside the letter), PNG,
// JPEG and UTF-8 text. HTML, SVG and XML can carry scripts; anything else the citizen could
// not open. A polyglot is what it sniffs as: HTML with a PDF inside is HTML and refused,
// and a PDF with HTML inside is a PDF, checked and served as one.
func documentKind(content []byte, digitalOnly bool) (kind, rule string) {
	kind = http.DetectContentType(content)
	if !digitalOnly {
		if err := print.ValidatePDF(content); err != nil {
			return "", err.Error() + "; a letter that may be printed takes PDF documents only"
		}
		return pdfDocument, ""
	}
	switch kind {
	case pdfDocument:
		if err := print.ValidatePDF(content); err != nil {
			return "", err.Error()
		}
	case pngDocument, jpegDocument:
	case textDocument:
		if !utf8.Valid(content) {
			return "", "is text that is not UTF-8; save it as UTF-8, or send it as a PDF"
		}
	default:
		return "", "must be a PDF, PNG, JPEG or plain text document; this one looks like " + kind
	}
	return kind, ""
}

// checkDocuments validates documents as a letter's (and a citizen's attachments) are checked:
// a file name that deceives nobody, not empty, at most 10 MB, and a kind the letter can carry
// (PDF only when it may be printed). Each refusal is added to errs; the accepted documents
// come back with the content type their bytes have, whatever the sender declared.
func checkDocuments(errs *fielderr.List, in []letters.Document, digitalOnly bool) []letters.Document {
	docs := make([]letters.Document, 0, len(in))
	for i, d := range in {
		if rule := fielderr.FilenameRule(d.Filename); rule != "" {
			errs.Add(fmt.Sprintf("document %d", i+1), "file name "+rule) // the name itself is not repeated
			continue
		}
		field := fmt.Sprintf("document %d (%s)", i+1, d.Filename)
		switch {
		case len(d.Content) == 0:
			errs.Add(field, "is empty")
			continue
		case len(d.Content) > letters.MaxDocumentBytes:
			errs.Add(field, "is larger than 10 MB")
			continue
		}
		kind, rule := documentKind(d.Content, digitalOnly)
		if rule != "" {
			errs.Add(field, rule)
			continue
		}
		d.ContentType = kind
		docs = append(docs, d)
	}
	return docs
}
