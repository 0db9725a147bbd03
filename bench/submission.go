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

	"digitalpost/internal/codec"
	"digitalpost/internal/config"
	"digitalpost/internal/engine"
	"digitalpost/internal/letters"
	"digitalpost/internal/postoffice"
	"digitalpost/internal/store"
	"digitalpost/internal/temporalclient"
)

// remotePhase is the letters phase with every letter submitted from another process, as the
// CLI or a sender's own service submits: its own Temporal client and PostgreSQL pool, and no
// worker beside it, so no eager start. The bench runs itself as that process (-submitter) and
// hands it one letter per line; the worker, the fakes and the opening stay here.
func (b *bench) remotePhase(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cfgJSON, _ := json.Marshal(b.cfg)
	cmd := exec.CommandContext(ctx, exe, "-submitter", b.cfg.TaskQueue, "-concurrency", fmt.Sprint(b.o.concurrency))
	cmd.Env = append(os.Environ(), "BENCH_SUBMITTER_CONFIG="+string(cfgJSON))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = in.Close(); _ = cmd.Wait() }()

	var mu sync.Mutex
	waiting := map[int]chan string{}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var i int
			var answer string
			if _, err := fmt.Sscanf(sc.Text(), "%d %s", &i, &answer); err != nil {
				continue
			}
			mu.Lock()
			ch := waiting[i]
			delete(waiting, i)
			mu.Unlock()
			if ch != nil {
				ch <- strings.TrimPrefix(sc.Text(), fmt.Sprint(i)+" ")
			}
		}
	}()
	var writeMu sync.Mutex
	b.resetArrivals()
	perSec, latency, err := b.measureLetters(ctx, "letters from another process", func(ctx context.Context, i int) (uuid.UUID, error) {
		ch := make(chan string, 1)
		mu.Lock()
		waiting[i] = ch
		mu.Unlock()
		writeMu.Lock()
		_, err := fmt.Fprintf(in, "%d %s\n", i, b.digital[i])
		writeMu.Unlock()
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
	})
	b.res.RemotePerSec, b.res.RemoteLatencyMS = perSec, latency
	if b.res.LettersPerSec > 0 {
		b.res.RemoteToLetters = perSec / b.res.LettersPerSec
	}
	return err
}

// runSubmitter is the other process of the remote phase: it reads "index cpr" lines, submits
// each letter through the post office as `starter send` does, and answers "index letter-id"
// (or "index error: …"), up to -concurrency at a time.
func runSubmitter(ctx context.Context, o options) error {
	var cfg config.Config
	if err := json.Unmarshal([]byte(os.Getenv("BENCH_SUBMITTER_CONFIG")), &cfg); err != nil {
		return fmt.Errorf("BENCH_SUBMITTER_CONFIG: %w", err)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, int32(o.concurrency))
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
		var i int
		var to string
		if _, err := fmt.Sscanf(sc.Text(), "%d %s", &i, &to); err != nil {
			return fmt.Errorf("submitter: line %q: %w", sc.Text(), err)
		}
		g.Go(func() error {
			r, err := e.PostOffice.Submit(gctx, postoffice.Submission{SenderID: "bench", MessageID: fmt.Sprintf("remote-%s-%d", cfg.TaskQueue, i),
				RecipientCPR: to, Subject: "Indkaldelse", Body: "Du er indkaldt."})
			if err != nil {
				answer("%d error: %v", i, err)
				return nil
			}
			answer("%d %s", i, r.LetterID)
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
	n := b.o.letters
	b.resetArrivals()
	latency, submitted := make([]time.Duration, n), make([]time.Duration, n)
	bar := newBar(n, fmt.Sprintf("letters at %.0f/s", rate))
	g, gctx := errgroup.WithContext(ctx)
	interval := time.Duration(float64(time.Second) / rate)
	t0 := time.Now()
	var lastStart time.Time
	for i := range n {
		// Open loop: each letter leaves at its own time, whether or not earlier ones are done.
		due := t0.Add(time.Duration(i) * interval)
		select {
		case <-gctx.Done():
		case <-time.After(time.Until(due)):
		}
		lastStart = time.Now()
		g.Go(func() error {
			start := time.Now()
			r, err := b.e.PostOffice.Submit(gctx, postoffice.Submission{SenderID: "bench", MessageID: fmt.Sprintf("load-%s-%d", b.runID, i),
				RecipientCPR: b.digital[i], Subject: "Indkaldelse", Body: "Du er indkaldt."})
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
			if err := b.open(gctx, r.LetterID, i); err != nil {
				return err
			}
			return b.e.Temporal.GetWorkflow(gctx, letters.WorkflowID(r.LetterID), "").Get(gctx, nil)
		})
	}
	err := g.Wait()
	_ = bar.Finish()
	b.res.LoadOffered, b.res.LoadAchieved = rate, float64(n-1)/lastStart.Sub(t0).Seconds()
	b.res.LoadLatencyMS, b.res.LoadSubmitMS = percentiles(latency), percentiles(submitted)
	return err
}
