package print

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Job is one envelope for remote print.
type Job struct {
	ID       string `json:"job_id"` // deterministic per letter and purpose: the print house dedupes on it
	LetterID string `json:"letter_id"`
	Purpose  string `json:"purpose"`
	Reason   string `json:"reason"`
	Envelope string `json:"envelope"`
	Pages    int    `json:"pages"`
	// PostalCategory: economy, priority, registered or registered_proof. The print house
	// posts the letter so; a registered letter never goes as ordinary post.
	PostalCategory string `json:"postal_category"`
	// Abroad: the address is outside Denmark, so the print house posts it with international
	// postage.
	Abroad    bool      `json:"abroad"`
	PDF       string    `json:"pdf"`
	CreatedAt time.Time `json:"created_at"`
}

// Provider hands a rendered job to a print house.
type Provider interface {
	Submit(ctx context.Context, job Job, pdf []byte) (location string, err error)
}

// Spool is the default provider: it writes each job to a hot folder as print houses take
// them — the PDF first, then a manifest whose arrival tells the print house the job is whole.
type Spool struct{ Dir string }

func (s Spool) Submit(_ context.Context, job Job, pdf []byte) (string, error) {
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return "", fmt.Errorf("print spool %s: %w", s.Dir, err)
	}
	pdfPath := filepath.Join(s.Dir, job.ID+".pdf")
	if err := writeAtomically(pdfPath, pdf); err != nil {
		return "", err
	}
	job.PDF = filepath.Base(pdfPath)
	manifest, err := json.MarshalIndent(job, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeAtomically(filepath.Join(s.Dir, job.ID+".json"), manifest); err != nil {
		return "", err
	}
	return pdfPath, nil
}

// writeAtomically writes to a temporary name and renames, so a reader never sees half a file.
func writeAtomically(path string, b []byte) error {
	tmp := path + ".part"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
