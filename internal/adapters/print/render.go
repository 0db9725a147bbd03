// Package print renders letters to A4 PDF for a C5 window envelope and hands them to a
// remote-print provider.
package print

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"

	"digitalpost/internal/domain/calendar"
)

func init() {
	// pdfcpu would otherwise create a configuration folder in the user's home.
	api.DisableConfigDir()
}

// Page geometry in millimetres. The address field sits where the window of a C5 envelope
// (DIN 5008 form B) shows it when an A4 sheet is folded once.
const (
	AddressLeft   = 20.0
	AddressTop    = 50.0
	AddressWidth  = 85.0
	AddressHeight = 40.0
	marginLeft    = 25.0
	marginRight   = 20.0
)

// Sheet is what goes on the first page of a printed letter.
type Sheet struct {
	Organisation     string // the sending organisation, shown prominently (rule 7)
	ProducingUnit    string
	ReturnAddress    string
	RecipientName    string
	RecipientAddress string // lines separated by "\n"
	Date             time.Time
	Subject          string
	Body             string
	Reference        string // letter id, printed small for the print house and the citizen
}

// Render draws the sheet and appends the sender's own PDF documents after it.
func Render(s Sheet, documents [][]byte) ([]byte, int, error) {
	cover, err := renderSheet(s)
	if err != nil {
		return nil, 0, err
	}
	if len(documents) == 0 {
		n, err := PageCount(cover)
		return cover, n, err
	}
	parts := []io.ReadSeeker{bytes.NewReader(cover)}
	for i, d := range documents {
		// Checked again here, with the same rules and limits as at submission: a document
		// stored before a rule or a limit existed is read by the worker all the same, and a
		// worker that runs out of memory takes every other letter's print job with it.
		if err := ValidatePDF(d); err != nil {
			return nil, 0, fmt.Errorf("document %d %v", i+1, err)
		}
		parts = append(parts, bytes.NewReader(d))
	}
	var out bytes.Buffer
	if err := api.MergeRaw(parts, &out, false, readConfiguration()); err != nil {
		return nil, 0, fmt.Errorf("merge documents into print file: %w", err)
	}
	n, err := PageCount(out.Bytes())
	return out.Bytes(), n, err
}

func renderSheet(s Sheet) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	tr := pdf.UnicodeTranslatorFromDescriptor("") // core fonts are cp1252: æ, ø, å need translating
	pdf.SetMargins(marginLeft, 20, marginRight)
	pdf.SetAutoPageBreak(true, 20)
	pdf.SetTitle(tr(s.Subject), false)
	pdf.SetCreator("digitalpost", false)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-15)
		pdf.SetFont("Helvetica", "", 7)
		pdf.CellFormat(0, 4, tr(fmt.Sprintf("Ref. %s  ·  side %d", s.Reference, pdf.PageNo())), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()

	// Sender block, top right: who sends (rule 7) and who produced it.
	pdf.SetXY(120, 20)
	pdf.SetFont("Helvetica", "B", 12)
	pdf.MultiCell(70, 5, tr(s.Organisation), "", "L", false)
	pdf.SetFont("Helvetica", "", 9)
	if s.ProducingUnit != "" {
		pdf.SetX(120)
		pdf.MultiCell(70, 4, tr(s.ProducingUnit), "", "L", false)
	}

	// Address field for the envelope window: return address in small print, then the recipient.
	pdf.SetXY(AddressLeft, AddressTop)
	pdf.SetFont("Helvetica", "", 7)
	if s.ReturnAddress != "" {
		pdf.CellFormat(AddressWidth, 4, tr("Afs.: "+oneLine(s.ReturnAddress)), "", 2, "L", false, 0, "")
	}
	pdf.SetFont("Helvetica", "", 11)
	pdf.SetX(AddressLeft)
	pdf.MultiCell(AddressWidth, 5, tr(s.RecipientName+"\n"+s.RecipientAddress), "", "L", false)

	pdf.SetXY(120, AddressTop+AddressHeight-5)
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(70, 5, calendar.DanishDate(s.Date), "", 0, "R", false, 0, "")

	pdf.SetXY(marginLeft, AddressTop+AddressHeight+15)
	pdf.SetFont("Helvetica", "B", 14)
	pdf.MultiCell(0, 7, tr(s.Subject), "", "L", false)
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "", 11)
	pdf.MultiCell(0, 5.5, tr(s.Body), "", "L", false)

	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render letter: %w", err)
	}
	return buf.Bytes(), nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", ", ")), " ")
}

// PageCount counts the pages of a PDF.
func PageCount(b []byte) (int, error) { return api.PageCount(bytes.NewReader(b), nil) }
