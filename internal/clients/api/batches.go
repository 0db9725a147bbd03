package api

import (
	"digitalpost/internal/clients/api/wire"

	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/audit"
	"digitalpost/internal/domain/bulkfile"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
)

// submitBatch takes a run of letters as CSV (the CLI's file: message_id,to,subject,text) or
// NDJSON (one POST /v1/letters object per line). The body goes to a temporary file as it
// arrives, hashed on the way, so a large file is never held in memory as bytes; the run is
// then validated and stored all or nothing, as `starter bulk` does, and the letters start
// in the background after the answer. With dry_run=true nothing is written: the answer is
// what the run would do.
func (s *Server) submitBatch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dryRun, err := strconv.ParseBool(q.Get("dry_run"))
	if q.Get("dry_run") == "" {
		dryRun, err = false, nil
	}
	if err != nil {
		badInput(w, &fielderr.Error{Field: "dry_run", Rule: "must be true or false"})
		return
	}
	// A batch's letters are bulk unless the sender says otherwise (urgency=urgent, or a line's own).
	urgency, err := letters.ParseUrgency(q.Get("urgency"), letters.Bulk)
	if err != nil {
		badInput(w, &fielderr.Error{Field: "urgency", Rule: err.Error()})
		return
	}
	template := postoffice.Submission{SenderID: senderOf(r), Urgency: urgency, ReplyContactPoint: q.Get("reply_contact_point"), SubmittedBy: submittedBy(r)}
	if v := q.Get("replies_allowed"); v != "" {
		allowed, err := strconv.ParseBool(v)
		if err != nil {
			badInput(w, &fielderr.Error{Field: "replies_allowed", Rule: "must be true or false"})
			return
		}
		template.RepliesAllowed = &allowed
	}
	if err := errors.Join(template.SetDeadline(q.Get("deadline")), template.SetReplyBy(q.Get("reply_by"))); badInput(w, err) {
		return
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "text/csv" && mediaType != "application/x-ndjson" {
		writeProblem(w, Problem{Type: problemBase + "unsupported-media-type", Status: http.StatusUnsupportedMediaType,
			Title: "send the batch as text/csv (header " + bulkfile.Header + ") or application/x-ndjson"})
		return
	}

	file, hash, size, err := spool(r.Body)
	if file != nil {
		defer file.Close()
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeProblem(w, Problem{Type: problemBase + "too-large", Status: http.StatusRequestEntityTooLarge,
			Title: "the batch is too large; nothing was written", Detail: fmt.Sprintf("at most %d bytes (MAX_BATCH_BYTES)", tooBig.Limit)})
		return
	case err != nil:
		serverError(w, r, err)
		return
	}
	// Spooled, the run's size is known: what checking it holds in memory is the file's
	// documents and text, and about 2 KiB for each letter (a CSV run of 100,000 letters is a
	// 6 MB file but some 190 MB of letters).
	release, ok := s.reserveMore(w, senderOf(r), heldForBatch(size, s.cfg.MaxBatchLetters))
	if !ok {
		return
	}
	defer release()
	var subs []postoffice.Submission
	if mediaType == "text/csv" {
		subs, err = bulkfile.Read(file, template, s.cfg.MaxBatchLetters)
	} else {
		subs, err = readNDJSON(file, template, s.cfg.MaxBatchLetters)
	}
	if badInput(w, err) {
		return
	}
	if err != nil {
		serverError(w, r, err)
		return
	}

	recipients := func() []string {
		out := make([]string, len(subs))
		for i, sub := range subs {
			out[i] = sub.RecipientCPR
		}
		return out
	}
	if dryRun {
		// A preview counts its recipients by channel and reason: of one recipient, that is a
		// look-up, and it is counted and recorded as one.
		if !s.answersAboutCitizens(w, r, audit.PreviewKind, recipients()) {
			return
		}
		pv, err := s.desk.PreviewBulk(r.Context(), subs, s.prices, s.cfg.DefaultOpenedShare)
		if badInput(w, err) {
			return
		}
		if err != nil {
			serverError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, previewView(pv))
		return
	}

	batch := &letters.Batch{ID: uuid.New(), SenderID: senderOf(r), FileHash: hash}
	receipts, stored, err := s.desk.StoreBulk(r.Context(), subs, batch)
	if postoffice.RefusedForRecipient(err) && !s.answersAboutCitizens(w, r, audit.RefusalKind, recipients()) {
		return
	}
	var conflict *postoffice.BulkConflict
	switch {
	case errors.As(err, &conflict):
		p := Problem{Type: problemBase + "conflict", Status: http.StatusConflict,
			Title: "message ids in this batch were used before for letters with other content; nothing was written"}
		for _, e := range conflict.Rules {
			p.Errors = append(p.Errors, ProblemField{Field: apiField(e.Field), Rule: e.Rule})
		}
		writeProblem(w, p)
		return
	case badInput(w, err):
		return
	case err != nil:
		serverError(w, r, err)
		return
	}
	fresh := 0
	for _, rc := range receipts {
		if !rc.Duplicate {
			fresh++
		}
	}
	// The starts outlive the request: its context ends with the answer. Should the process
	// die first, the recovery sweep starts what was stored.
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Hour)
		defer cancel()
		if err := s.desk.StartBulk(ctx, stored, postoffice.BulkOptions{Concurrency: 20}); err != nil {
			s.log.Warn("batch starts left to the recovery sweep", "batch", batch.ID, "error", err)
		}
	}()
	w.Header().Set("Location", "/v1/batches/"+batch.ID.String())
	writeJSON(w, http.StatusAccepted, wire.BatchAccepted{BatchID: batch.ID.String(), Letters: len(receipts), New: fresh,
		AlreadySubmitted: len(receipts) - fresh})
}

// spool copies a body to a temporary file, hashing it on the way, and rewinds the file. The
// file's name is removed at once: the open file is all that is left of it, so nothing
// survives the process, even one killed mid-upload (the batch holds CPR numbers).
func spool(body io.Reader) (*os.File, []byte, int64, error) {
	f, err := os.CreateTemp("", "digitalpost-batch-*")
	if err != nil {
		return nil, nil, 0, err
	}
	if err := os.Remove(f.Name()); err != nil {
		return f, nil, 0, err
	}
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(f, h), body)
	if err != nil {
		return f, nil, size, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return f, nil, size, err
	}
	return f, h.Sum(nil), size, nil
}

// heldForBatch estimates what checking a spooled run of size bytes holds: the file's content
// and batchLetterBytes for each letter it can hold (a row is at least 32 bytes), at most
// maxLetters of them.
func heldForBatch(size int64, maxLetters int) int64 {
	letters := size / 32
	if maxLetters > 0 {
		letters = min(letters, int64(maxLetters))
	}
	return size + letters*batchLetterBytes
}

// MaxBatchLineBytes bounds one line of an NDJSON batch: a letter whose documents come to
// about 12 MB. A larger letter goes alone, through POST /v1/letters; a batch's letters are
// all held at once while the run is checked.
const MaxBatchLineBytes = 16 << 20

// readNDJSON reads one letter object per line, each as strict as POST /v1/letters; more
// than maxLetters letters (0: no limit) are refused as soon as one too many is read.
func readNDJSON(r io.Reader, template postoffice.Submission, maxLetters int) ([]postoffice.Submission, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxBatchLineBytes)
	var subs []postoffice.Submission
	var errs fielderr.List
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if maxLetters > 0 && len(subs) == maxLetters {
			return nil, bulkfile.TooMany(maxLetters)
		}
		if !utf8.ValidString(text) {
			errs.Add(fmt.Sprintf("line %d", line), "must be UTF-8 (it has bytes that are not; save the file as UTF-8)")
			continue
		}
		var req wire.LetterRequest
		if err := strictJSON(strings.NewReader(text), &req); err != nil {
			errs.Add(fmt.Sprintf("line %d", line), "is not a letter object: "+jsonRule(err))
			continue
		}
		sub, err := submission(req, template.SenderID)
		var list fielderr.List
		if errors.As(err, &list) {
			for _, e := range list {
				errs.Add(fmt.Sprintf("line %d: %s", line, e.Field), e.Rule)
			}
			continue
		}
		if sub.Deadline == 0 && sub.DeadlineWorkingDays == 0 {
			sub.Deadline, sub.DeadlineWorkingDays = template.Deadline, template.DeadlineWorkingDays
		}
		if sub.Urgency == "" {
			sub.Urgency = template.Urgency
		}
		sub.SubmittedBy = template.SubmittedBy
		if sub.RepliesAllowed == nil && sub.ReplyBy == nil && sub.ReplyContactPoint == "" {
			sub.RepliesAllowed, sub.ReplyBy, sub.ReplyContactPoint = template.RepliesAllowed, template.ReplyBy, template.ReplyContactPoint
		}
		subs = append(subs, sub)
		if len(errs) > postoffice.MaxBulkErrors {
			break
		}
	}
	if err := sc.Err(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		rule := "cannot be read: " + err.Error()
		if errors.Is(err, bufio.ErrTooLong) {
			rule = fmt.Sprintf("is longer than %d bytes; send a letter this large alone, with POST /v1/letters", MaxBatchLineBytes)
		}
		errs.Add(fmt.Sprintf("line %d", line+1), rule)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, &fielderr.Error{Field: "file", Rule: "has no letters"}
	}
	return subs, nil
}

// jsonRule says what is wrong with a JSON value without quoting it (it may hold a CPR number).
func jsonRule(err error) string {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		return typeErr.Field + " must be a JSON " + typeErr.Type.Kind().String()
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ") + " (not a field of a letter)"
	}
	return "not valid JSON"
}

func previewView(pv postoffice.Preview) wire.Preview {
	out := wire.Preview{Letters: pv.Letters, Digital: pv.Digital, PaperNow: pv.PaperNow, PaperReasons: pv.PaperReasons,
		NoNoticeChannel: pv.NoNoticeChannel, OpenedShare: pv.OpenedShare, OpenedShareBasis: pv.OpenedShareBasis,
		ExpectedEscalations: pv.ExpectedEscalations, Postage: []wire.Postage{}}
	for _, p := range pv.Postage {
		out.Postage = append(out.Postage, wire.Postage{Category: p.Category, PerLetterOre: p.PerLetterOre,
			PaperLetters: p.PaperLetters, TotalOre: p.TotalOre, Total: p.TotalReadable})
	}
	return out
}

func (s *Server) getBatch(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		notFound(w, "batch")
		return
	}
	b, counts, err := s.desk.BatchProgress(r.Context(), senderOf(r), id)
	switch {
	case errors.Is(err, letters.ErrNotFound):
		notFound(w, "batch")
		return
	case err != nil:
		serverError(w, r, err)
		return
	}
	out := wire.BatchProgress{BatchID: b.ID.String(), Letters: b.Letters, CreatedAt: b.Created.UTC(), ByStatus: map[string]int{}, Settled: true}
	for st, n := range counts {
		out.ByStatus[string(st)] = n
		if !st.Final() {
			out.Settled = false
		}
	}
	writeJSON(w, http.StatusOK, out)
}
