package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"digitalpost/internal/adapters/print"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/history"
)

// PathCost is what one letter costs on one path through the engine, averaged over a run of
// letters on that path alone.
type PathCost struct {
	Letters         int            `json:"letters"`
	PGRoundTrips    float64        `json:"pg_round_trips"`
	PGWALBytes      float64        `json:"pg_wal_bytes"`
	PGStorageBytes  float64        `json:"pg_storage_bytes"`
	HistoryEvents   float64        `json:"history_events"`
	HistoryBytes    float64        `json:"history_bytes"`
	Actions         float64        `json:"billable_actions"`
	ActionsByRule   map[string]int `json:"billable_actions_by_rule"` // of one sample letter
	WorkerCPUMS     float64        `json:"worker_process_cpu_ms"`
	TemporalCPUMS   float64        `json:"temporal_server_cpu_ms,omitempty"`
	PostgresCPUMS   float64        `json:"postgres_cpu_ms,omitempty"`
	SecondsPerBatch float64        `json:"seconds"`
}

// costPaths are the paths a letter takes, in the order the cost phase measures them.
// "shape" is Temporal's ceiling workflow (ShapeWorkflow), measured the same way: what a letter
// costs beyond it is ours.
//
// "reply" is a citizen's reply to a letter (with a one-page PDF), measured from the reply alone:
// the letters it answers are delivered before the measurement starts.
var costPaths = []string{"shape", "opened", "escalated", "paper", "bulk", "reply"}

// costPhase runs -cost-letters letters down each path on its own and divides what the run
// cost (PostgreSQL round trips, WAL and storage, CPU of the worker's process, of Temporal and
// of PostgreSQL) by the letters; history events, bytes and billable actions are read from the
// letters' own histories.
func (b *bench) costPhase(ctx context.Context) error {
	b.res.Cost = map[string]*PathCost{}
	for _, path := range costPaths {
		fmt.Fprintf(os.Stderr, "   cost of a %s letter\n", path)
		measure := b.measurePath
		if path == "reply" {
			measure = func(ctx context.Context, _ string) (*PathCost, error) { return b.measureReply(ctx) }
		}
		c, err := measure(ctx, path)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		b.res.Cost[path] = c
	}
	return nil
}

func (b *bench) measurePath(ctx context.Context, path string) (*PathCost, error) {
	n := min(b.o.costLetters, len(b.digital))
	tag := fmt.Sprintf("cost-%s-%s", path, b.runID)
	before, err := b.sample(ctx)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	switch path {
	case "shape":
		_, err = b.parallel(ctx, n, "letter-shaped workflows", func(ctx context.Context, i int) error {
			return b.runShape(ctx, fmt.Sprintf("%s-%d", tag, i))
		})
		if err == nil {
			after, err := b.sample(ctx)
			if err != nil {
				return nil, err
			}
			c := after.costSince(before, n)
			h, err := history.Fetch(ctx, b.e.Temporal, fmt.Sprintf("%s-%d", tag, 0))
			if err != nil {
				return nil, err
			}
			total, byRule := history.BillableActions(h)
			c.HistoryEvents, c.HistoryBytes, c.Actions, c.ActionsByRule = float64(len(h.GetEvents())), float64(proto.Size(h)), float64(total), byRule
			return c, nil
		}
	case "opened":
		b.resetArrivals()
		ids = make([]uuid.UUID, n)
		_, _, err = b.measureLettersN(ctx, "opened letters", n, func(ctx context.Context, i int) (uuid.UUID, error) {
			r, err := b.e.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "bench", MessageID: fmt.Sprintf("%s-%d", tag, i),
				RecipientCPR: b.digital[i], Subject: "Indkaldelse", Body: "Du er indkaldt."})
			ids[i] = r.LetterID
			return r.LetterID, err
		})
	case "escalated", "paper":
		ids = make([]uuid.UUID, n)
		_, err = b.parallel(ctx, n, path+" letters", func(ctx context.Context, i int) error {
			sub := postoffice.Submission{SenderID: "bench", MessageID: fmt.Sprintf("%s-%d", tag, i), RecipientCPR: b.digital[i],
				Subject: "Indkaldelse", Body: "Du er indkaldt."}
			if path == "paper" {
				sub.PhysicalOnly = true
			} else {
				sub.Deadline = time.Second
			}
			r, err := b.e.PostOffice.Submit(ctx, sub)
			if err != nil {
				return err
			}
			ids[i] = r.LetterID
			return b.e.Temporal.GetWorkflow(ctx, r.WorkflowID, "").Get(ctx, nil)
		})
	case "bulk":
		subs := make([]postoffice.Submission, n)
		for i := range subs {
			subs[i] = postoffice.Submission{SenderID: "bench-cost", MessageID: fmt.Sprintf("%s-%d", tag, i), RecipientCPR: b.digital[i],
				Subject: "Brev til alle husstande", Body: "Tekst"}
			ids = append(ids, letters.IDFor("bench-cost", subs[i].MessageID))
		}
		if _, err = b.e.PostOffice.SubmitBulk(ctx, subs, postoffice.BulkOptions{Concurrency: b.o.concurrency}); err == nil {
			err = b.awaitNoticesSent(ctx, ids)
		}
	}
	if err != nil {
		return nil, err
	}
	after, err := b.sample(ctx)
	if err != nil {
		return nil, err
	}
	c := after.costSince(before, n)
	return c, b.readHistories(ctx, c, ids)
}

// awaitNoticesSent waits until both notices of every letter are sent: a bulk letter's work
// until its reader opens it (or its deadline, days later) is done then.
func (b *bench) awaitNoticesSent(ctx context.Context, ids []uuid.UUID) error {
	for {
		var sent int
		if err := b.e.DB.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE letter_id = ANY($1) AND state = 'sent'`, ids).Scan(&sent); err != nil {
			return err
		}
		if sent >= 2*len(ids) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readHistories averages events, bytes and billable actions over (up to 50 of) the letters.
func (b *bench) readHistories(ctx context.Context, c *PathCost, ids []uuid.UUID) error {
	ids = ids[:min(len(ids), 50)]
	var events, size, actions int
	for i, id := range ids {
		h, err := history.Fetch(ctx, b.e.Temporal, letters.WorkflowID(id))
		if err != nil {
			return err
		}
		total, byRule := history.BillableActions(h)
		if i == 0 {
			c.ActionsByRule = byRule
		}
		events += len(h.GetEvents())
		size += proto.Size(h)
		actions += total
	}
	c.HistoryEvents = float64(events) / float64(len(ids))
	c.HistoryBytes = float64(size) / float64(len(ids))
	c.Actions = float64(actions) / float64(len(ids))
	return nil
}

// costSample is the counters a path's cost is the difference of.
type costSample struct {
	at                     time.Time
	trips                  int64
	wal, storage           int64
	self, temporal, server time.Duration
}

func (b *bench) sample(ctx context.Context) (costSample, error) {
	s := costSample{at: time.Now(), trips: b.trips.Count(), self: selfCPU(),
		temporal: processCPU(isTemporalServer), server: processCPU(func(comm string) bool { return comm == "postgres" })}
	// Read through the same pool: this query is one more round trip, counted in the sample.
	err := b.e.DB.QueryRow(ctx, `SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, pg_database_size(current_database())`).Scan(&s.wal, &s.storage)
	return s, err
}

func (after costSample) costSince(before costSample, n int) *PathCost {
	per := func(v float64) float64 { return v / float64(n) }
	ms := func(d time.Duration) float64 { return per(float64(d) / float64(time.Millisecond)) }
	return &PathCost{Letters: n,
		PGRoundTrips: per(float64(after.trips - before.trips - 1)), PGWALBytes: per(float64(after.wal - before.wal)),
		PGStorageBytes: per(float64(after.storage - before.storage)),
		WorkerCPUMS:    ms(after.self - before.self), TemporalCPUMS: ms(after.temporal - before.temporal),
		PostgresCPUMS: ms(after.server - before.server), SecondsPerBatch: after.at.Sub(before.at).Seconds()}
}

// isTemporalServer matches the Temporal CLI's dev server and the full server binary.
func isTemporalServer(comm string) bool { return comm == "temporal" || comm == "server" }

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU sums user and system CPU of this machine's processes whose name matches. A
// process that ends between two samples takes its time with it; the servers' do not end.
func processCPU(match func(comm string) bool) time.Duration {
	const ticksPerSecond = 100 // USER_HZ on Linux
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range stats {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(raw)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open || !match(s[open+1:closing]) {
			continue
		}
		fields := strings.Fields(s[closing+1:]) // fields[0] is the state, field 3 of stat
		if len(fields) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * time.Second / ticksPerSecond
}

// measureReply delivers letters that take replies, then measures the citizens answering them,
// each with a one-page PDF: what storing and announcing a reply costs. No workflow carries a
// reply, so its history and Temporal's share are what the measurement shows of that.
func (b *bench) measureReply(ctx context.Context) (*PathCost, error) {
	n := min(b.o.costLetters, len(b.digital))
	tag := fmt.Sprintf("cost-reply-%s", b.runID)
	yes := true
	ids := make([]uuid.UUID, n)
	authors := make([]uuid.UUID, n)
	_, err := b.parallel(ctx, n, "letters that take replies", func(ctx context.Context, i int) error {
		r, err := b.e.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "bench", MessageID: fmt.Sprintf("%s-%d", tag, i),
			RecipientCPR: b.digital[i], Subject: "Partshøring", Body: "Svar gerne.", RepliesAllowed: &yes})
		ids[i] = r.LetterID
		return err
	})
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if time.Now().After(deadline) {
			return nil, errors.New("the letters to reply to were not all in mailboxes after 2 minutes")
		}
		rows, err := b.e.DB.Query(ctx, `SELECT letter_id, citizen_id FROM mailbox_entries WHERE letter_id = ANY($1)`, ids)
		if err != nil {
			return nil, err
		}
		owner := map[uuid.UUID]uuid.UUID{}
		for rows.Next() {
			var l, c uuid.UUID
			if err := rows.Scan(&l, &c); err != nil {
				return nil, err
			}
			owner[l] = c
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(owner) == n {
			for i, id := range ids {
				authors[i] = owner[id]
			}
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	pdf, _, err := print.Render(print.Sheet{Subject: "Bilag", Body: "Bilag til mit svar."}, nil)
	if err != nil {
		return nil, err
	}
	before, err := b.sample(ctx)
	if err != nil {
		return nil, err
	}
	_, err = b.parallel(ctx, n, "replies", func(ctx context.Context, i int) error {
		_, _, err := b.e.PostOffice.Reply(ctx, postoffice.CitizenPost{Author: authors[i], LetterID: ids[i], Text: "Jeg har ingen indsigelser.",
			Files: []letters.Document{{Filename: "bilag.pdf", Content: pdf}}, FormKey: fmt.Sprintf("%s-%d", tag, i)})
		return err
	})
	if err != nil {
		return nil, err
	}
	after, err := b.sample(ctx)
	if err != nil {
		return nil, err
	}
	return after.costSince(before, n), nil
}
