package postoffice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
)

// BulkOptions pace a bulk run.
type BulkOptions struct {
	// Concurrency bounds workflow starts in flight. Flooding the server with starts lowers
	// its throughput (measured: 200 concurrent starters ran at half the rate of 50).
	Concurrency int
	// Progress, when set, is told how many letters have been started so far.
	Progress func(started int)
	// Batch, when set, records the run as one batch (a file handed in through the API).
	Batch *letters.Batch
}

// MaxBulkErrors bounds how many broken rules a refused bulk run lists.
const MaxBulkErrors = 50

// SubmitBulk submits a run of letters, such as a region's letter to every household.
//
// The run is all or nothing. Every letter is validated first; if any breaks a rule, the
// run is refused with the letters and rules (the field is "letter N: field") and nothing is
// written or started. Every letter needs its own message id, since the message ids are what
// make a run safe to repeat. The whole run is then stored in one transaction, and only after
// it commits are the workflows started, at a bounded pace.
//
// Running the same file again, say after the sender's job died halfway, stores the letters
// that are missing and starts every letter's workflow; a letter whose workflow runs or ran
// is left as it is, so nothing is delivered twice. Receipt.Duplicate tells which letters an
// earlier run had stored already.
func (p *PostOffice) SubmitBulk(ctx context.Context, subs []Submission, o BulkOptions) ([]Receipt, error) {
	receipts, stored, err := p.StoreBulk(ctx, subs, o.Batch)
	if err != nil {
		return nil, err
	}
	return receipts, p.StartBulk(ctx, stored, o)
}

// StoreBulk validates and stores a run, all or nothing, and returns the letters to start
// with StartBulk. A caller that answers before the starts are done (the HTTP API) may leave
// them to StartBulk in the background: should the process die, the recovery sweep starts
// what was stored within a minute.
func (p *PostOffice) StoreBulk(ctx context.Context, subs []Submission, batch *letters.Batch) ([]Receipt, []letters.Letter, error) {
	all, docs, _, err := p.checkRun(ctx, subs)
	if err != nil {
		return nil, nil, err
	}
	if p.BulkStartsPerSecond > 0 {
		// When each start is due at the run's pace (StartBulk starts them in this order): the
		// recovery sweep leaves a letter to a live run until then.
		now := time.Now()
		for i := range all {
			due := now.Add(time.Duration(float64(i) / p.BulkStartsPerSecond * float64(time.Second)))
			all[i].StartAfter = &due
		}
	}
	created, err := p.Letters.CreateMany(ctx, all, docs, batch)
	var changed *letters.ContentConflict
	if errors.As(err, &changed) {
		return nil, nil, bulkConflict(all, changed.IDs)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store the run's %d letters: %w", len(all), err)
	}
	receipts := make([]Receipt, len(all))
	for i, l := range all {
		receipts[i] = Receipt{LetterID: l.ID, WorkflowID: letters.WorkflowID(l.ID), Duplicate: !created[i]}
	}
	return receipts, all, nil
}

// checkRun validates every letter of a run, with the run's own rules (a message id per
// letter, none twice), and returns them ready to store, or every broken rule.
func (p *PostOffice) checkRun(ctx context.Context, subs []Submission) ([]letters.Letter, [][]letters.Document, lookup, error) {
	if len(subs) == 0 {
		return nil, nil, lookup{}, &fielderr.Error{Field: "run", Rule: "has no letters"}
	}
	look, err := p.bulkLookup(ctx, subs)
	if err != nil {
		return nil, nil, lookup{}, err
	}
	all := make([]letters.Letter, len(subs))
	docs := make([][]letters.Document, len(subs))
	var errs fielderr.List
	unlisted := 0
	firstLetter := make(map[uuid.UUID]int, len(subs)) // letter id (sender + message id) → letter number
	for i, s := range subs {
		var broken fielderr.List
		messageID := strings.TrimSpace(s.MessageID)
		id := letters.IDFor(strings.TrimSpace(s.SenderID), messageID)
		switch first, seen := firstLetter[id]; {
		case messageID == "":
			broken.Add("message_id", "must not be empty: a bulk run needs a message id per letter so that running the file again delivers nothing twice")
		case seen:
			// Both would become one letter, and the second recipient would silently get nothing.
			broken.Add("message_id", fmt.Sprintf("duplicates letter %d; every letter in a run needs its own message id", first))
		default:
			firstLetter[id] = i + 1
		}
		if s.Urgency == "" {
			s.Urgency = letters.Bulk // a run's letters give way to the sender's single letters
		}
		l, d, err := p.validate(ctx, s, look)
		var list fielderr.List
		switch {
		case errors.As(err, &list):
			broken = append(broken, list...)
		case err != nil:
			return nil, nil, lookup{}, err
		}
		for _, e := range broken {
			if e.Field == "message-id" {
				e.Field = "message_id" // a run's fields are named as its file's columns
			}
			if len(errs) < MaxBulkErrors {
				errs.Add(fmt.Sprintf("letter %d: %s", i+1, e.Field), e.Rule)
			} else {
				unlisted++
			}
		}
		all[i], docs[i] = l, d
	}
	if unlisted > 0 {
		errs.Add("run", fmt.Sprintf("%d more broken rules in later letters are not listed", unlisted))
	}
	if err := errs.Err(); err != nil {
		return nil, nil, lookup{}, err
	}
	return all, docs, look, nil
}

// StartBulk starts the workflows of a stored run at a bounded pace and confirms the starts.
func (p *PostOffice) StartBulk(ctx context.Context, all []letters.Letter, o BulkOptions) error {
	if o.Concurrency <= 0 {
		o.Concurrency = 50
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	pace := rate.NewLimiter(rate.Inf, 1)
	if p.BulkStartsPerSecond > 0 {
		pace = rate.NewLimiter(rate.Limit(p.BulkStartsPerSecond), max(1, int(p.BulkStartsPerSecond/10)))
	}
	// Starts are confirmed in PostgreSQL in batches, so the recovery sweep does not start the
	// run's letters a second time while they wait in the task queue for a worker. A batch that
	// cannot be confirmed only leaves the sweep one more idempotent start to make.
	started := make(chan uuid.UUID, len(all))
	done := make(chan struct{})
	go func() {
		defer close(done)
		n := 0
		var batch []uuid.UUID
		confirm := func() {
			if len(batch) > 0 {
				_ = p.Letters.MarkStarted(context.WithoutCancel(ctx), batch...)
				batch = batch[:0]
			}
		}
		for id := range started {
			n++
			if batch = append(batch, id); len(batch) == confirmBatch {
				confirm()
			}
			if o.Progress != nil {
				o.Progress(n)
			}
		}
		confirm()
	}()
	var paceErr error
	for _, l := range all {
		if paceErr = pace.Wait(gctx); paceErr != nil {
			break // a start failed (the group's error below), or ctx ended: the rest are the sweep's
		}
		g.Go(func() error {
			if err := p.start(gctx, l); err != nil {
				return err
			}
			started <- l.ID
			return nil
		})
	}
	err := g.Wait()
	close(started)
	<-done
	if err == nil && paceErr != nil {
		err = fmt.Errorf("bulk run stopped before every letter was started (the recovery sweep starts the rest): %w", paceErr)
	}
	return err
}

// BulkConflict is a run refused because some of its message ids were used before for
// letters with other content. Rules name the letters (rows) as a refused run does.
type BulkConflict struct{ Rules fielderr.List }

func (c *BulkConflict) Error() string { return "refused: " + c.Rules.Error() }

func bulkConflict(all []letters.Letter, ids []uuid.UUID) *BulkConflict {
	changed := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		changed[id] = true
	}
	c := &BulkConflict{}
	for i, l := range all {
		if !changed[l.ID] {
			continue
		}
		if len(c.Rules) == MaxBulkErrors {
			c.Rules.Add("run", fmt.Sprintf("%d more letters like these are not listed", len(ids)-MaxBulkErrors))
			break
		}
		c.Rules.Add(fmt.Sprintf("letter %d: message_id", i+1),
			fmt.Sprintf("%q was submitted before with other content; a changed letter needs a new message id", l.MessageID))
	}
	return c
}

// confirmBatch is how many started letters one confirmation statement marks.
const confirmBatch = 500

// bulkLookup reads the run's senders and recipients in one query each.
func (p *PostOffice) bulkLookup(ctx context.Context, subs []Submission) (lookup, error) {
	senders := map[string]*registry.Sender{}
	var numbers []cpr.Number
	for _, s := range subs {
		if id := strings.TrimSpace(s.SenderID); id != "" && fielderr.TextRule(id) == "" {
			senders[id] = nil // validation asks with the trimmed id, and only for text PostgreSQL takes
		}
		if n, err := cpr.Parse(s.RecipientCPR); err == nil {
			numbers = append(numbers, n)
		}
	}
	for id := range senders {
		snd, err := p.Registry.Sender(ctx, id)
		if err != nil && !errors.Is(err, registry.ErrNotFound) {
			return lookup{}, err
		}
		if err == nil {
			senders[id] = &snd
		}
	}
	citizens, err := p.Registry.CitizensByCPR(ctx, numbers)
	if err != nil {
		return lookup{}, err
	}
	return lookup{contactPoints: map[[2]string]bool{},
		sender: func(_ context.Context, id string) (registry.Sender, bool, error) {
			if snd := senders[id]; snd != nil {
				return *snd, true, nil
			}
			return registry.Sender{}, false, nil
		},
		recipient: func(_ context.Context, n cpr.Number) (registry.Citizen, bool, error) {
			c, ok := citizens[n]
			return c, ok, nil
		},
		citizens: citizens,
	}, nil
}
