package printhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"digitalpost/internal/domain/fielderr"
)

// ReceiptsDir is the folder beside the spool where the print house leaves its receipts.
func ReceiptsDir(spool string) string { return filepath.Join(spool, "receipts") }

// Folder reads receipt files: each a receipt or a JSON array of them. A file read moves to
// done/; one that cannot be read moves to rejected/ with a .error file saying why. Several
// workers may scan the same folder: a receipt applied twice is a recorded duplicate.
type Folder struct {
	Dir      string
	Receipts *Receipts
	Log      *slog.Logger // nil: slog's default
}

func (f Folder) log() *slog.Logger {
	if f.Log == nil {
		return slog.Default()
	}
	return f.Log
}

// ScanEvery is how often workers look in the receipts folder.
const ScanEvery = 2 * time.Second

// Watch scans the folder until ctx ends.
func (f Folder) Watch(ctx context.Context) error {
	t := time.NewTicker(ScanEvery)
	defer t.Stop()
	for {
		if _, err := f.Scan(ctx); err != nil && ctx.Err() == nil {
			f.log().Warn("print receipts folder", "dir", f.Dir, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Scan applies every receipt file in the folder once and reports how many receipts it read.
func (f Folder) Scan(ctx context.Context) (int, error) {
	names, err := filepath.Glob(filepath.Join(f.Dir, "*.json"))
	if err != nil || len(names) == 0 {
		return 0, err
	}
	sort.Strings(names)
	read := 0
	for _, name := range names {
		if ctx.Err() != nil {
			return read, ctx.Err()
		}
		n, err := f.file(ctx, name)
		read += n
		var bad *badFile
		switch {
		case errors.As(err, &bad):
			f.log().Warn("print receipt file rejected", "file", filepath.Base(name), "why", bad.why)
			if err := f.move(name, "rejected"); err != nil {
				return read, err
			}
			_ = os.WriteFile(filepath.Join(f.Dir, "rejected", filepath.Base(name)+".error"), []byte(bad.why+"\n"), 0o640)
		case errors.Is(err, os.ErrNotExist):
			// Another worker took it.
		case err != nil:
			return read, err // PostgreSQL away: the file stays and is read again
		default:
			if err := f.move(name, "done"); err != nil && !errors.Is(err, os.ErrNotExist) {
				return read, err
			}
		}
	}
	return read, nil
}

type badFile struct{ why string }

func (b *badFile) Error() string { return b.why }

// MaxReceiptFileBytes bounds one receipt file: a day's receipts of a busy print house are a
// few megabytes.
const MaxReceiptFileBytes = 16 << 20

func (f Folder) file(ctx context.Context, name string) (int, error) {
	b, err := readRegularFile(name, MaxReceiptFileBytes)
	if err != nil {
		return 0, err
	}
	list, err := parseReceipts(b)
	if err != nil {
		return 0, &badFile{why: err.Error()}
	}
	for i, r := range list {
		if err := r.Validate(); err != nil {
			return i, &badFile{why: fmt.Sprintf("receipt %d: %v", i+1, err)}
		}
	}
	for i, r := range list {
		if _, err := f.Receipts.Apply(ctx, r, "file "+filepath.Base(name)); err != nil {
			return i, err
		}
	}
	return len(list), nil
}

// readRegularFile reads name if it is a regular file of at most limit bytes. A link is not
// followed: whoever may write in the receipts folder could otherwise have the worker read,
// and apply, any file it can reach. Opened with O_NOFOLLOW, and the open file checked, so the
// name cannot be swapped for a link between a check and the read.
func readRegularFile(name string, limit int64) ([]byte, error) {
	fd, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &badFile{why: "is a symbolic link; receipts are read from regular files only"}
	}
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	info, err := fd.Stat()
	switch {
	case err != nil:
		return nil, err
	case !info.Mode().IsRegular():
		return nil, &badFile{why: "is not a regular file; receipts are read from regular files only"}
	case info.Size() > limit:
		return nil, &badFile{why: fmt.Sprintf("is larger than %d bytes", limit)}
	}
	b, err := io.ReadAll(io.LimitReader(fd, limit+1))
	if err == nil && int64(len(b)) > limit {
		return nil, &badFile{why: fmt.Sprintf("is larger than %d bytes", limit)}
	}
	return b, err
}

// parseReceipts reads one receipt or an array of them; unknown fields are refused, so a
// misspelt outcome field is not read as an empty one.
func parseReceipts(b []byte) ([]Receipt, error) {
	b = bytes.TrimSpace(b)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if len(b) > 0 && b[0] == '[' {
		var list []Receipt
		if err := dec.Decode(&list); err != nil {
			return nil, fmt.Errorf("not a JSON array of receipts: %v", err)
		}
		return list, nil
	}
	var r Receipt
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not a JSON receipt: %v", err)
	}
	return []Receipt{r}, nil
}

// ParseReceipts is parseReceipts with each receipt validated, for the HTTP endpoint.
func ParseReceipts(b []byte) ([]Receipt, error) {
	list, err := parseReceipts(b)
	if err != nil {
		return nil, &fielderr.Error{Field: "body", Rule: err.Error()}
	}
	var errs fielderr.List
	for i, r := range list {
		var l fielderr.List
		if err := r.Validate(); errors.As(err, &l) {
			for _, e := range l {
				errs.Add(fmt.Sprintf("receipts[%d].%s", i, e.Field), e.Rule)
			}
		}
	}
	return list, errs.Err()
}

func (f Folder) move(name, to string) error {
	dir := filepath.Join(f.Dir, to)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return os.Rename(name, filepath.Join(dir, filepath.Base(name)))
}
