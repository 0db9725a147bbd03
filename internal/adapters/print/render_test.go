package print

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func sheet() Sheet {
	return Sheet{
		Organisation: "Region Midtjylland", ProducingUnit: "Aarhus Universitetshospital",
		ReturnAddress: "Skottenborg 26\n8800 Viborg", RecipientName: "Søren Ærø",
		RecipientAddress: "Åboulevarden 1\n8000 Aarhus C", Date: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
		Subject: "Indkaldelse til undersøgelse", Body: "Du er indkaldt til en undersøgelse.", Reference: "L-1",
	}
}

func TestRenderedLetterIsAValidOnePagePDF(t *testing.T) {
	pdf, pages, err := Render(sheet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidatePDF(pdf); err != nil {
		t.Fatalf("rendered letter: %v", err)
	}
	if pages != 1 {
		t.Fatalf("pages = %d, want 1", pages)
	}
}

func TestSenderDocumentsFollowTheCoverSheet(t *testing.T) {
	doc, _, err := Render(Sheet{Subject: "Bilag", Body: "bilag"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pdf, pages, err := Render(sheet(), [][]byte{doc, doc})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 3 {
		t.Fatalf("pages = %d, want cover + 2 documents", pages)
	}
	if err := ValidatePDF(pdf); err != nil {
		t.Fatal(err)
	}
}

func TestValidatePDFRejectsOtherFiles(t *testing.T) {
	if err := ValidatePDF([]byte("hello, not a pdf")); err == nil {
		t.Fatal("text accepted as PDF")
	}
	if err := ValidatePDF([]byte("%PDF-1.4\ngarbage")); err == nil {
		t.Fatal("broken PDF accepted")
	}
}

func TestSpoolWritesPDFThenManifest(t *testing.T) {
	dir := t.TempDir()
	pdf, pages, _ := Render(sheet(), nil)
	loc, err := Spool{Dir: dir}.Submit(t.Context(), Job{ID: "job-1", LetterID: "L-1", Purpose: "paper-route", Pages: pages, Envelope: "C5"}, pdf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(loc)
	if err != nil || !bytes.Equal(got, pdf) {
		t.Fatalf("spooled PDF differs: %v", err)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "job-1.json"))
	if err != nil || !bytes.Contains(manifest, []byte(`"pdf": "job-1.pdf"`)) {
		t.Fatalf("manifest: %s %v", manifest, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.part")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}
