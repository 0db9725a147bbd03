package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/infra/engine"
)

// The fairness phase's senders: A sends a bulk run, B single letters from another process.
const (
	senderA = "bench-a"
	senderB = "bench-b"
	// fairCitizens are the digital citizens kept for sender B, after everyone else's.
	fairCitizens = 1000
	// idleLetters is how many of B's letters measure B on a system with nothing else to do.
	idleLetters = 30
)

// FairnessResult is what the fairness phase measured.
type FairnessResult struct {
	Rate             float64            `json:"provider_calls_per_sec"`
	BulkLetters      int                `json:"a_bulk_letters"`
	IdleLetters      int                `json:"b_idle_letters"`
	BIdleMS          map[string]float64 `json:"b_idle_submit_to_notified_ms"`
	AAloneSeconds    float64            `json:"a_alone_seconds_to_all_notified"`
	AAlonePerSec     float64            `json:"a_alone_letters_per_sec"`
	AAfterPerSec     float64            `json:"a_alone_again_letters_per_sec"`
	BusyLetters      int                `json:"b_letters_during_a"`
	BBusyMS          map[string]float64 `json:"b_during_a_submit_to_notified_ms"`
	ABusySeconds     float64            `json:"a_with_b_seconds_to_all_notified"`
	ABusyPerSec      float64            `json:"a_with_b_letters_per_sec"`
	BP99Ratio        float64            `json:"b_p99_to_idle_p99"`
	AThroughputRatio float64            `json:"a_with_b_to_a_alone"`
}

// fairnessPhase is one national service shared by two senders. Sender A submits a bulk run of
// -fair-bulk letters (the bulk path, as a batch is stored and started) on a system whose
// providers take -fair-rate calls a second (production's default: 50), so its notices build
// a backlog of minutes; sender B submits a single letter every second from another process (no
// eager start, as the CLI and an API process apart from the workers submit). B's submit →
// notified during A's run is read against B alone, and A's throughput against A alone.
func (b *bench) fairnessPhase(ctx context.Context) error {
	cfg := b.cfg
	cfg.TaskQueue = b.cfg.TaskQueue + "-fair"
	cfg.SMSRatePerSecond, cfg.EmailRatePerSecond = b.o.fairRate, b.o.fairRate
	e, err := engine.New(cfg, b.e.DB, b.e.Temporal)
	if err != nil {
		return err
	}
	e.Notices.FirstTryAhead = b.o.firstTryAhead
	stop, err := e.StartWorkers(ctx, e.Workers())
	if err != nil {
		return err
	}
	defer stop()
	sub, err := b.startSubmitter(ctx, cfg)
	if err != nil {
		return err
	}
	defer sub.close()
	f := &FairnessResult{Rate: b.o.fairRate, BulkLetters: b.o.fairBulk, IdleLetters: idleLetters}
	b.res.Fairness = f
	singles := &singleLetters{b: b, sub: sub}

	idle, err := singles.send(ctx, func(sent int) bool { return sent >= idleLetters })
	if err != nil {
		return fmt.Errorf("sender B alone: %w", err)
	}
	f.BIdleMS = percentiles(idle)

	// A alone runs before and after A with B: each run leaves its letters waiting, and a later
	// run is slower for the rows and workflows the earlier ones left, so A with B is read
	// against the mean of the two.
	alone, err := b.bulkToNotified(ctx, e, senderA+"-alone")
	if err != nil {
		return fmt.Errorf("sender A alone: %w", err)
	}
	f.AAloneSeconds, f.AAlonePerSec = alone.Seconds(), float64(b.o.fairBulk)/alone.Seconds()

	var busy []time.Duration
	var busyErr error
	aDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		busy, busyErr = singles.send(ctx, func(int) bool {
			select {
			case <-aDone:
				return true
			default:
				return false
			}
		})
	})
	withB, err := b.bulkToNotified(ctx, e, senderA)
	close(aDone)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("sender A with B: %w", err)
	}
	if busyErr != nil {
		return fmt.Errorf("sender B during A's run: %w", busyErr)
	}
	f.ABusySeconds, f.ABusyPerSec = withB.Seconds(), float64(b.o.fairBulk)/withB.Seconds()
	f.BusyLetters, f.BBusyMS = len(busy), percentiles(busy)
	again, err := b.bulkToNotified(ctx, e, senderA+"-again")
	if err != nil {
		return fmt.Errorf("sender A alone again: %w", err)
	}
	f.AAfterPerSec = float64(b.o.fairBulk) / again.Seconds()
	f.AThroughputRatio = f.ABusyPerSec / ((f.AAlonePerSec + f.AAfterPerSec) / 2)
	if f.BIdleMS["p99"] > 0 {
		f.BP99Ratio = f.BBusyMS["p99"] / f.BIdleMS["p99"]
	}
	return nil
}

// bulkToNotified submits sender's bulk run and returns the time until every notice of it was
// sent (SMS and e-mail to each letter's citizen).
func (b *bench) bulkToNotified(ctx context.Context, e *engine.Engine, sender string) (time.Duration, error) {
	subs := make([]postoffice.Submission, b.o.fairBulk)
	for i := range subs {
		subs[i] = postoffice.Submission{SenderID: sender, MessageID: fmt.Sprintf("%s-%s-%d", sender, b.runID, i), RecipientCPR: b.digital[i],
			Subject: "Brev til alle husstande", Body: "Tekst"}
	}
	t0 := time.Now()
	if _, err := e.PostOffice.SubmitBulk(ctx, subs, postoffice.BulkOptions{Concurrency: b.o.concurrency}); err != nil {
		return 0, err
	}
	err := b.awaitCount(ctx, "notices of "+sender, 2*len(subs), sentNotices, sender)
	return time.Since(t0), err
}

// singleLetters is sender B: one letter a second, each to a citizen of B's own, through the
// other process.
type singleLetters struct {
	b    *bench
	sub  *submitter
	sent int
}

// send submits a letter every second until done says so, and returns each letter's submit →
// notified (both notices at the providers).
func (s *singleLetters) send(ctx context.Context, done func(sent int) bool) ([]time.Duration, error) {
	var mu sync.Mutex
	var latencies []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for n := 0; !done(n); n++ {
		i := s.b.firstFairCitizen() + s.sent%fairCitizens
		s.sent++
		s.b.notified[i] = make(chan struct{})
		s.b.arrivals[i].Store(0)
		notified := s.b.notified[i]
		messageID := fmt.Sprintf("%s-%s-%d", senderB, s.b.runID, s.sent)
		wg.Go(func() {
			t0 := time.Now()
			_, err := s.sub.submit(ctx, i, senderB, messageID)
			if err == nil {
				select {
				case <-notified:
				case <-time.After(2 * time.Minute):
					err = fmt.Errorf("letter %s: not notified within 2 minutes", messageID)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if err == nil {
				latencies = append(latencies, time.Since(t0))
			}
		})
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	wg.Wait()
	return latencies, firstErr
}

// firstFairCitizen is the first of sender B's own citizens: after every other phase's.
func (b *bench) firstFairCitizen() int { return max(b.o.letters, b.o.bulk, b.o.fairBulk, 1) }
