// Package bulkfile reads the file of a bulk run: a CSV with the header row
// message_id,to,subject,text and one letter per row after it. The command line reads runs
// with it, and so can any other entry point that takes a run as a file.
//
// The reader checks the file as a file (CSV syntax, four fields per row, UTF-8 text without
// NUL bytes) and reports the line; the letters' own rules are the post office's, checked by
// postoffice.SubmitBulk, which reports "letter N" (the Nth row after the header).
package bulkfile

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/fielderr"
)

// Header is the first row of every run file.
const Header = "message_id,to,subject,text"

var columns = strings.Split(Header, ",")

// MaxErrors bounds how many broken rows one refusal lists.
const MaxErrors = postoffice.MaxBulkErrors

// utf8BOM starts files that spreadsheet programs save as "CSV UTF-8".
const utf8BOM = "\ufeff"

// Read reads a run. Every row becomes a copy of template (sender, deadline, digital-only)
// with the row's message id, recipient, subject and text. A file that breaks a rule is
// refused as a whole, as a fielderr.List naming the lines; the rules never repeat the file's
// content, which holds CPR numbers. A run of more than maxLetters letters (0: no limit) is
// refused when the first letter too many is read, before the rest is held in memory.
func Read(r io.Reader, template postoffice.Submission, maxLetters int) ([]postoffice.Submission, error) {
	br := bufio.NewReader(r)
	if start, err := br.Peek(len(utf8BOM)); err == nil && string(start) == utf8BOM {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = len(columns)
	header, err := cr.Read()
	if err != nil || strings.Join(header, ",") != Header {
		return nil, &fielderr.Error{Field: "file", Rule: "must start with the header row " + Header}
	}
	var subs []postoffice.Submission
	var errs fielderr.List
	unlisted := 0
	broken := func(field, rule string) {
		if len(errs) < MaxErrors {
			errs.Add(field, rule)
		} else {
			unlisted++
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// After a syntax error the rows that follow cannot be told apart: stop here.
			broken(syntaxError(err, rec))
			break
		}
		line, _ := cr.FieldPos(0)
		if maxLetters > 0 && len(subs) == maxLetters {
			return nil, TooMany(maxLetters)
		}
		for i, value := range rec {
			if rule := fielderr.TextRule(value); rule != "" {
				broken(fmt.Sprintf("line %d: %s", line, columns[i]), rule)
			}
		}
		s := template
		s.MessageID, s.RecipientCPR, s.Subject, s.Body = rec[0], rec[1], rec[2], rec[3]
		subs = append(subs, s)
	}
	if unlisted > 0 {
		errs.Add("file", fmt.Sprintf("%d more broken fields in later lines are not listed", unlisted))
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, &fielderr.Error{Field: "file", Rule: "has no letters after the header row"}
	}
	return subs, nil
}

// TooMany refuses a run longer than max letters.
func TooMany(max int) error {
	return &fielderr.Error{Field: "file", Rule: fmt.Sprintf("has more than %d letters (MAX_BATCH_LETTERS); send it as several batches", max)}
}

// syntaxError says where and how a row is not CSV, without quoting it.
func syntaxError(err error, rec []string) (field, rule string) {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return "file", "cannot be read: " + err.Error()
	}
	// A quoted field may span lines: name the line the row starts on, and where it broke.
	field = fmt.Sprintf("line %d", pe.StartLine)
	where := fmt.Sprintf("at byte %d", pe.Column)
	if pe.Line != pe.StartLine {
		where = fmt.Sprintf("on line %d at byte %d", pe.Line, pe.Column)
	}
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return field, fmt.Sprintf("has %d fields; every row needs %d: %s (quote a field that holds a comma)", len(rec), len(columns), Header)
	case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
		return field, fmt.Sprintf("%v %s (a quote inside a quoted field is written twice: \"\")", pe.Err, where)
	}
	return field, pe.Err.Error()
}
