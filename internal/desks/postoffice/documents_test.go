package postoffice_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/domain/letters"
)

// A document's name is shown to the citizen and offered as the name to save under. Each of
// these was accepted: a right-to-left override that makes an .exe read as a .pdf, a name of
// 10 kB, a line break that splits the Content-Disposition header, a path.
func TestSubmitRefusesDocumentNamesThatDeceive(t *testing.T) {
	d := newDesk(t)
	for name, c := range map[string]struct{ filename, rule string }{
		"right-to-left override": {"Årsopgørelse\u202Efdp.exe", "direction or formatting"},
		"isolate":                {"bilag\u2067fdp.exe", "direction or formatting"},
		"10 kB name":             {strings.Repeat("bilag", 2000) + ".txt", "at most 255 bytes"},
		"CR LF":                  {"a\r\nb.txt", "control characters"},
		"NUL":                    {"bilag\x00.txt", "control characters"},
		"path":                   {"../../bilag.txt", "/ or \\"},
		"Windows path":           {"..\\bilag.txt", "/ or \\"},
		"empty":                  {"", "must not be empty"},
	} {
		t.Run(name, func(t *testing.T) {
			s := letter()
			s.DigitalOnly = true
			s.Documents = []letters.Document{{Filename: c.filename, Content: []byte("Bilag til indkaldelsen.\n")}}
			_, err := d.Submit(context.Background(), s)
			if rules := refusal(t, err); !hasRule(rules, "document 1", "file name") || !hasRule(rules, "document 1", c.rule) {
				t.Fatalf("refusal %q does not name document 1 with %q", rules, c.rule)
			}
			for _, r := range refusal(t, err) {
				if strings.ContainsAny(r, "\r\n\u202E\u2067") || len(r) > 1000 {
					t.Fatalf("the refusal repeats the hostile name: %q", r)
				}
			}
		})
	}
	if n := d.storedLetters(t); n != 0 {
		t.Fatalf("refused letters left %d rows", n)
	}
}

var (
	// The smallest files the sniffer takes for what they are.
	pngFile  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	jpegFile = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9")
)

// A digital-only letter is opened in the citizen's browser, so what it carries must be a
// kind of file that cannot act as a page: PDF, PNG, JPEG or plain text. The sender's declared
// type is not believed: the stored type is what the bytes are.
func TestDigitalOnlyLetterTakesOnlyPDFPNGJPEGOrText(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	pdf, _, err := print.Render(print.Sheet{Subject: "Bilag", Body: "Bilag"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	script := []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >> >>\nendobj\n" +
		"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n" +
		"trailer\n<< /Root 1 0 R >>\n%%EOF\n")

	for name, c := range map[string]struct {
		content []byte
		rule    string
	}{
		"HTML":                    {[]byte("<!DOCTYPE html><html><script>fetch('/v1/letters')</script></html>"), "this one looks like text/html"},
		"HTML declared as a PDF":  {[]byte("<html><body onload=alert(1)>"), "text/html"},
		"HTML with %PDF- later":   {append([]byte("<html><script>alert(1)</script>\n"), pdf...), "text/html"},
		"SVG":                     {[]byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "text/xml"},
		"a zip archive":           {[]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), "application/zip"},
		"text that is not UTF-8":  {[]byte("K\xe6re borger, se vedh\xe6ftede."), "UTF-8"},
		"PDF with JavaScript":     {script, "JavaScript"},
		"PDF that does not parse": {[]byte("%PDF-1.7\nnot really"), "not a valid PDF"},
	} {
		t.Run(name, func(t *testing.T) {
			s := letter()
			s.DigitalOnly = true
			s.Documents = []letters.Document{{Filename: "bilag.pdf", ContentType: "application/pdf", Content: c.content}}
			_, err := d.Submit(ctx, s)
			rules := refusal(t, err)
			if !hasRule(rules, "document 1 (bilag.pdf)", c.rule) {
				t.Fatalf("refusal %q does not name the document with %q", rules, c.rule)
			}
		})
	}
	if n := d.storedLetters(t); n != 0 {
		t.Fatalf("refused letters left %d rows", n)
	}

	s := letter()
	s.DigitalOnly = true
	s.Documents = []letters.Document{
		{Filename: "bilag.pdf", ContentType: "text/html", Content: pdf},
		{Filename: "scan.png", ContentType: "text/html", Content: pngFile},
		{Filename: "foto.jpg", ContentType: "image/svg+xml", Content: jpegFile},
		{Filename: "noter.txt", ContentType: "text/html; charset=utf-8", Content: []byte("Kære Åse\n<b>ikke html</b> her, bare tekst.\n")},
		{Filename: "uden type.txt", Content: []byte("Bilag")},
	}
	r, err := d.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := d.Letters.Documents(ctx, r.LetterID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"application/pdf", "image/png", "image/jpeg", "text/plain; charset=utf-8", "text/plain; charset=utf-8"}
	if len(stored) != len(want) {
		t.Fatalf("stored %d documents, want %d", len(stored), len(want))
	}
	for i, doc := range stored {
		if doc.ContentType != want[i] {
			t.Errorf("%s stored as %q, want %q (what its bytes are)", doc.Filename, doc.ContentType, want[i])
		}
	}
}

// A letter that may be printed already took only PDFs; what is stored is now what the bytes
// are there too, whatever the sender declared.
func TestPrintableLetterStoresItsPDFAsAPDF(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	pdf, _, err := print.Render(print.Sheet{Subject: "Bilag", Body: "Bilag"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := letter()
	s.Documents = []letters.Document{{Filename: "bilag.pdf", ContentType: "text/html", Content: pdf}}
	r, err := d.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := d.Letters.Documents(ctx, r.LetterID)
	if err != nil || len(stored) != 1 || stored[0].ContentType != "application/pdf" || !bytes.Equal(stored[0].Content, pdf) {
		t.Fatalf("stored %+v, %v", stored, err)
	}
}
