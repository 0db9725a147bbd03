package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/codec"
	"digitalpost/internal/infra/config"
	"digitalpost/internal/infra/engine"
	"digitalpost/internal/infra/store"
	"digitalpost/internal/infra/temporalclient"
)

// remotePhase is the letters phase with every letter submitted from another process, as the
// CLI or an API process apart from the workers (SERVE=api) submits: its own Temporal client and
// PostgreSQL pool, and no worker beside it, so no eager start. The bench runs itself as that
// process (-submitter) and hands it one letter per line; the worker, the fakes and the opening
// stay here. It measures the throughput at full concurrency against the in-process letters
// phase, then the latency at half the in-process rate (the deployed shape's targets: p99 ≤ 150
// ms at half load, throughput ≥ 0.9 × in-process).
func (b *bench) remotePhase(ctx context.Context) error {
	sub, err := b.startSubmitter(ctx, b.cfg)
	if err != nil {
		return err
	}
	defer sub.close()
	b.resetArrivals()
	perSec, latency, err := b.measureLetters(ctx, "letters from another process", func(ctx context.Context, i int) (uuid.UUID, error) {
		return sub.submit(ctx, i, "bench", fmt.Sprintf("remote-%s-%d", b.runID, i))
	})
	b.res.RemotePerSec, b.res.RemoteLatencyMS = perSec, latency
	if b.res.LettersPerSec > 0 {
		b.res.RemoteToLetters = perSec / b.res.LettersPerSec
	}
	if err != nil {
		return err
	}
	rate := b.o.loadRate
	if rate <= 0 {
		rate = b.res.LettersPerSec / 2
	}
	if rate <= 0 {
		return nil // no in-process rate to halve: run the letters phase first, or give -load-rate
	}
	b.resetArrivals()
	_, latency, _, err = b.offerLoad(ctx, rate, "from another process", func(ctx context.Context, i int) (uuid.UUID, error) {
		return sub.submit(ctx, i, "bench", fmt.Sprintf("remote-load-%s-%d", b.runID, i))
	})
	b.res.RemoteLoadOffered, b.res.RemoteLoadLatencyMS = rate, latency
	return err
}

// submitter is the other process that submits letters: the CLI's path, or an API process's.
type submitter struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	mu      sync.Mutex
	waiting map[string]chan string
	writeMu sync.Mutex
}

// startSubmitter runs this bench binary as a submitter against cfg's system.
func (b *bench) startSubmitter(ctx context.Context, cfg config.Config) (*submitter, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cfgJSON, _ := json.Marshal(cfg)
	cmd := exec.CommandContext(ctx, exe, "-submitter", cfg.TaskQueue, "-concurrency", fmt.Sprint(b.o.concurrency))
	cmd.Env = append(os.Environ(), "BENCH_SUBMITTER_CONFIG="+string(cfgJSON))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &submitter{cmd: cmd, in: in, waiting: map[string]chan string{}}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			key, answer, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				continue
			}
			s.mu.Lock()
			ch := s.waiting[key]
			delete(s.waiting, key)
			s.mu.Unlock()
			if ch != nil {
				ch <- answer
			}
		}
	}()
	return s, nil
}

// submit hands the submitter one letter to digital citizen i from sender, and returns its id.
func (s *submitter) submit(ctx context.Context, i int, sender, messageID string) (uuid.UUID, error) {
	ch := make(chan string, 1)
	s.mu.Lock()
	s.waiting[messageID] = ch
	s.mu.Unlock()
	s.writeMu.Lock()
	_, err := fmt.Fprintf(s.in, "%s %d %s\n", messageID, i, sender)
	s.writeMu.Unlock()
	if err != nil {
		return uuid.Nil, err
	}
	select {
	case answer := <-ch:
		id, err := uuid.Parse(answer)
		if err != nil {
			return uuid.Nil, fmt.Errorf("submitter: %s", answer)
		}
		return id, nil
	case <-ctx.Done():
		return uuid.Nil, ctx.Err()
	}
}

func (s *submitter) close() { _ = s.in.Close(); _ = s.cmd.Wait() }

// runSubmitter is the other process of the remote and fairness phases: it reads "message-id
// citizen-index sender" lines, submits each letter through the post office as `starter send`
// does, and answers "message-id letter-id" (or "message-id error: …"), up to -concurrency at
// a time.
func runSubmitter(ctx context.Context, o options) error {
	var cfg config.Config
	if err := json.Unmarshal([]byte(os.Getenv("BENCH_SUBMITTER_CONFIG")), &cfg); err != nil {
		return fmt.Errorf("BENCH_SUBMITTER_CONFIG: %w", err)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, 10) // an API process's share of PostgreSQL, not one per submitter
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := codec.ParseKeys(cfg.PayloadKeys)
	if err != nil {
		return err
	}
	opts, err := temporalclient.Options(cfg, keys, quiet())
	if err != nil {
		return err
	}
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return err
	}
	defer tc.Close()
	e, err := engine.New(cfg, db, tc)
	if err != nil {
		return err
	}
	var outMu sync.Mutex
	answer := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.concurrency)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var messageID, sender string
		var i int
		if _, err := fmt.Sscanf(sc.Text(), "%s %d %s", &messageID, &i, &sender); err != nil {
			return fmt.Errorf("submitter: line %q: %w", sc.Text(), err)
		}
		g.Go(func() error {
			r, err := e.PostOffice.Submit(gctx, postoffice.Submission{SenderID: sender, MessageID: messageID,
				RecipientCPR: digitalCitizen(i), Subject: "Indkaldelse", Body: "Du er indkaldt."})
			if err != nil {
				answer("%s error: %v", messageID, err)
				return nil
			}
			answer("%s %s", messageID, r.LetterID)
			return nil
		})
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return g.Wait()
}

// loadPhase offers letters at a fixed rate, half the letters phase's maximum unless
// -load-rate says otherwise, and measures submit → notified for each: the latency a sender
// sees when the engine is busy but not saturated.
func (b *bench) loadPhase(ctx context.Context) error {
	rate := b.o.loadRate
	if rate <= 0 {
		if b.res.LettersPerSec <= 0 {
			return errors.New("no rate to offer: run the letters phase first, or give -load-rate")
		}
		rate = b.res.LettersPerSec / 2
	}
	b.resetArrivals()
	achieved, latency, submitted, err := b.offerLoad(ctx, rate, "in process", func(ctx context.Context, i int) (uuid.UUID, error) {
		r, err := b.e.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "bench", MessageID: fmt.Sprintf("load-%s-%d", b.runID, i),
			RecipientCPR: b.digital[i], Subject: "Indkaldelse", Body: "Du er indkaldt."})
		return r.LetterID, err
	})
	b.res.LoadOffered, b.res.LoadAchieved = rate, achieved
	b.res.LoadLatencyMS, b.res.LoadSubmitMS = latency, submitted
	return err
}

// offerLoad submits -letters letters at rate, open loop (each leaves at its own time, whether or
// not earlier ones are done), waits for each to be notified, opens it and waits for its end. It
// returns the rate achieved and the percentiles of submit → notified and of the submission alone.
func (b *bench) offerLoad(ctx context.Context, rate float64, what string, submit func(context.Context, int) (uuid.UUID, error)) (float64, map[string]float64, map[string]float64, error) {
	n := b.o.letters
	latency, submitted := make([]time.Duration, n), make([]time.Duration, n)
	bar := newBar(n, fmt.Sprintf("letters at %.0f/s %s", rate, what))
	g, gctx := errgroup.WithContext(ctx)
	interval := time.Duration(float64(time.Second) / rate)
	t0 := time.Now()
	var lastStart time.Time
	for i := range n {
		due := t0.Add(time.Duration(i) * interval)
		select {
		case <-gctx.Done():
		case <-time.After(time.Until(due)):
		}
		lastStart = time.Now()
		g.Go(func() error {
			start := time.Now()
			id, err := submit(gctx, i)
			if err != nil {
				return err
			}
			submitted[i] = time.Since(start)
			select {
			case <-b.notified[i]:
			case <-time.After(2 * time.Minute):
				return fmt.Errorf("letter %d: not notified within 2 minutes", i)
			}
			latency[i] = time.Since(start)
			_ = bar.Add(1)
			if err := b.open(gctx, id, i); err != nil {
				return err
			}
			return b.e.Temporal.GetWorkflow(gctx, letters.WorkflowID(id), "").Get(gctx, nil)
		})
	}
	err := g.Wait()
	_ = bar.Finish()
	return float64(n-1) / lastStart.Sub(t0).Seconds(), percentiles(latency), percentiles(submitted), err
}
