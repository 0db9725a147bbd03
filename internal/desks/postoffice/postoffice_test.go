package postoffice_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/store"
)

// fakeTemporal stands in for the Temporal client where only starts matter. Like the real
// server with the post office's policies, it starts a workflow id once and answers a second
// start without starting anything. It can be told to fail every start after the first few,
// as a server that goes away in the middle of a run.
type fakeTemporal struct {
	client.Client // any other call panics: these tests make none

	mu        sync.Mutex
	started   map[string]bool
	calls     int
	failAfter int // > 0: starts after this many calls fail
}

func newFakeTemporal() *fakeTemporal { return &fakeTemporal{started: map[string]bool{}} }

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failAfter > 0 && f.calls > f.failAfter {
		return nil, errors.New("connection refused")
	}
	if f.started[o.ID] {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "", "")
	}
	f.started[o.ID] = true
	return fakeRun{id: o.ID}, nil
}

// SignalWorkflow takes a signal (an opening) and does nothing with it: no workflow runs here.
func (f *fakeTemporal) SignalWorkflow(context.Context, string, string, string, any) error { return nil }

// startedCount is how many distinct workflows were started.
func (f *fakeTemporal) startedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.started)
}

type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-" + r.id }

const (
	annaCPR = "010180-1234"
	boCPR   = "020275-2345"
)

type desk struct {
	*postoffice.PostOffice
	db       *pgxpool.Pool
	temporal *fakeTemporal
}

// newDesk is a post office on a fresh database with one sender and two citizens.
func newDesk(t *testing.T) desk {
	t.Helper()
	db, _ := store.NewTestDB(t)
	reg := registry.New(db)
	ctx := context.Background()
	if err := reg.AddSender(ctx, registry.Sender{ID: "region-midt", Organisation: "Region Midtjylland"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []registry.NewCitizen{
		{CPR: annaCPR, Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C"},
		{CPR: boCPR, Name: "Bo Nielsen", Address: "Nørregade 2\n8000 Aarhus C"},
	} {
		if _, err := reg.AddCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	tc := newFakeTemporal()
	return desk{PostOffice: &postoffice.PostOffice{Temporal: tc, TaskQueue: "letters", Registry: reg,
		Letters: letters.NewStore(db), DefaultDeadline: 72 * time.Hour, Post: citizenpost.NewStore(db)}, db: db, temporal: tc}
}

func (d desk) storedLetters(t *testing.T) int {
	t.Helper()
	var n int
	if err := d.db.QueryRow(context.Background(), `SELECT count(*) FROM letters`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// refusal returns the broken rules of err as "field: rule", failing the test when err is
// not bad input.
func refusal(t *testing.T, err error) []string {
	t.Helper()
	var list fielderr.List
	if !errors.As(err, &list) {
		t.Fatalf("want a refusal naming field and rule, got %v", err)
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Field + ": " + e.Rule
	}
	return out
}

// hasRule tells whether one of the rules is on field and contains the words.
func hasRule(rules []string, field, words string) bool {
	return slices.ContainsFunc(rules, func(r string) bool {
		return strings.HasPrefix(r, field+": ") && strings.Contains(r, words)
	})
}

func letter() postoffice.Submission {
	return postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Indkaldelse",
		Body: "Du er indkaldt til scanning."}
}
