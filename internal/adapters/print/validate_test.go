package print

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// handmadePDF writes a one-page PDF with a correct cross-reference table. catalogExtra and
// pageExtra go into the catalog and page dictionaries; extra objects are numbered from 4.
func handmadePDF(catalogExtra, pageExtra string, extra ...string) []byte {
	objects := append([]string{
		"<< /Type /Catalog /Pages 2 0 R " + catalogExtra + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> " + pageExtra + " >>",
	}, extra...)
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

func stream(content string) string {
	return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content)
}

func TestHandmadePDFWithoutScriptsIsPrintable(t *testing.T) {
	// The control for the tests below: the same file without scripts passes, and so does a
	// harmless open action (go to the first page), so they fail for the script alone.
	for name, pdf := range map[string][]byte{
		"plain":          handmadePDF("", ""),
		"go-to action":   handmadePDF("/OpenAction [3 0 R /Fit]", ""),
		"link to a page": handmadePDF("", "/Annots [4 0 R]", "<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A << /S /GoTo /D [3 0 R /Fit] >> >>"),
		"web link":       handmadePDF("", "/Annots [4 0 R]", "<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A << /S /URI /URI (https://borger.dk) >> >>"),
		"with a content": handmadePDF("", "/Contents 4 0 R", stream("BT /F1 12 Tf 72 712 Td (Hej) Tj ET")),
	} {
		if err := ValidatePDF(pdf); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidatePDFRefusesScripts(t *testing.T) {
	for name, c := range map[string]struct {
		pdf  []byte
		want string
	}{
		"JavaScript open action": {handmadePDF("/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>", ""), "JavaScript"},
		"open action in its own object, script in a stream": {
			handmadePDF("/OpenAction 4 0 R", "", "<< /S /JavaScript /JS 5 0 R >>", stream("app.alert(1)")), "JavaScript"},
		"document-level /JavaScript name tree": {
			handmadePDF("/Names << /JavaScript 4 0 R >>", "", "<< /Names [(init) 5 0 R] >>", "<< /S /JavaScript /JS (this.print\\(\\)) >>"),
			"JavaScript"},
		"page /AA with JavaScript":     {handmadePDF("", "/AA << /O << /S /JavaScript /JS (x) >> >>"), "JavaScript"},
		"document /AA with JavaScript": {handmadePDF("/AA << /WC 4 0 R >>", "", "<< /S /JavaScript /JS (x) >>"), "JavaScript"},
		"annotation with a JavaScript action": {
			handmadePDF("", "/Annots [4 0 R]", "<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A << /S /JavaScript /JS (x) >> >>"), "JavaScript"},
		"Launch open action":                 {handmadePDF("/OpenAction << /S /Launch /F (calc.exe) >>", ""), "Launch"},
		"Launch with a hex-escaped name":     {handmadePDF("/OpenAction << /S /L#61unch /F (calc.exe) >>", ""), "Launch"},
		"JavaScript with a hex-escaped name": {handmadePDF("/OpenAction << /S /Java#53cript /J#53 (x) >>", ""), "JavaScript"},
		"XFA form":                           {handmadePDF("/AcroForm << /Fields [] /XFA 4 0 R >>", "", stream("<xdp:xdp/>")), "XFA"},
	} {
		t.Run(name, func(t *testing.T) {
			err := ValidatePDF(c.pdf)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "carries") {
				t.Fatalf("got %v, want a refusal naming %s", err, c.want)
			}
		})
	}
}

// Actions that reach outside the letter, and files hidden inside it, are refused even when
// no script is involved: a page-open action that only goes to a page is still an /AA.
func TestValidatePDFRefusesActionsAndEmbeddedFiles(t *testing.T) {
	link := func(action string) []byte {
		return handmadePDF("", "/Annots [4 0 R]", "<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A << "+action+" >> >>")
	}
	for name, c := range map[string]struct {
		pdf  []byte
		want string
	}{
		"go-to in a page /AA":        {handmadePDF("", "/AA << /O << /S /GoTo /D [3 0 R /Fit] >> >>"), "additional actions"},
		"document /AA":               {handmadePDF("/AA << /WP << /S /GoTo /D [3 0 R /Fit] >> >>", ""), "additional actions"},
		"hex-escaped /AA":            {handmadePDF("", "/#41A << /O << /S /GoTo /D [3 0 R /Fit] >> >>"), "additional actions"},
		"SubmitForm":                 {link("/S /SubmitForm /F (https://example.com/collect)"), "SubmitForm"},
		"hex-escaped SubmitForm":     {link("/S /Submit#46orm /F (https://example.com/collect)"), "SubmitForm"},
		"ImportData":                 {link("/S /ImportData /F (C:/Users/borger/secret.fdf)"), "ImportData"},
		"GoToR":                      {link("/S /GoToR /F (\\\\attacker\\share\\x.pdf) /D [0 /Fit]"), "GoToR"},
		"GoToE":                      {link("/S /GoToE /T << /R /C /N (x.pdf) >>"), "GoToE"},
		"open action GoToR":          {handmadePDF("/OpenAction << /S /GoToR /F (x.pdf) /D [0 /Fit] >>", ""), "GoToR"},
		"EmbeddedFiles name tree":    {handmadePDF("/Names << /EmbeddedFiles << /Names [(a.exe) 4 0 R] >> >>", "", "<< /Type /Filespec /F (a.exe) >>"), "embedded files"},
		"embedded file stream alone": {handmadePDF("", "", "<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream"), "embedded file"},
		"file attachment annotation": {handmadePDF("", "/Annots [4 0 R]", "<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] /FS << /Type /Filespec /F (a.exe) /EF << /F 5 0 R >> >> >>",
			"<< /Type /Embedded#46ile /Length 2 >>\nstream\nMZ\nendstream"), "embedded file"},
		"RichMedia annotation": {handmadePDF("", "/Annots [4 0 R]", "<< /Type /Annot /Subtype /RichMedia /Rect [0 0 10 10] >>"), "rich media"},
	} {
		t.Run(name, func(t *testing.T) {
			err := ValidatePDF(c.pdf)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "carries") {
				t.Fatalf("got %v, want a refusal naming %s", err, c.want)
			}
		})
	}
}

func TestValidatePDFRefusesEncryptedFiles(t *testing.T) {
	letter, _, err := Render(sheet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, conf := range map[string]*model.Configuration{
		"owner password only (opens without one, restricts printing)": model.NewAESConfiguration("", "owner-secret", 256),
		"user password (cannot be opened without it)":                 model.NewAESConfiguration("user-secret", "owner-secret", 256),
		"RC4, user password": model.NewRC4Configuration("user-secret", "owner-secret", 128),
	} {
		t.Run(name, func(t *testing.T) {
			var encrypted bytes.Buffer
			if err := api.Encrypt(bytes.NewReader(letter), &encrypted, conf); err != nil {
				t.Fatal(err)
			}
			err := ValidatePDF(encrypted.Bytes())
			if err == nil || !strings.Contains(err.Error(), "encrypted") {
				t.Fatalf("got %v, want a refusal for encryption", err)
			}
		})
	}
}

func TestValidatePDFNeverPanics(t *testing.T) {
	// Truncations of a real letter: every prefix is refused or accepted, none crashes.
	letter, _, _ := Render(sheet(), nil)
	for n := 0; n < len(letter); n += len(letter)/97 + 1 {
		_ = ValidatePDF(letter[:n])
	}
}
