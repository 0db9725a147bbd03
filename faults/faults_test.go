package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestFaultsLoseNothingAndSendNothingTwice runs every fault of the suite, shorter and with
// fewer letters: the worker killed mid-run and in the notice phase, providers answering 429
// and hanging, a stalled table, terminated connections, a Temporal restart, two other senders'
// single letters during a bulk run (fairness), and the bulk files that must be refused whole.
func TestFaultsLoseNothingAndSendNothingTwice(t *testing.T) {
	s := settings{Letters: 60, Rate: 20, ProviderTimeout: 2 * time.Second, Settle: 3 * time.Minute, Scale: 0.25}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	// Restarting PostgreSQL would break the other packages' tests if `go test ./...` ran them at
	// the same time; scripts/test runs this package alone, after the rest, and says so.
	if os.Getenv("FAULTS_RESTART_POSTGRES") == "" {
		s.Except = restartPostgresName
		t.Logf("%q left out: set FAULTS_RESTART_POSTGRES=1 when nothing else uses this PostgreSQL (scripts/test does)", restartPostgresName)
	}
	results, err := runSuite(ctx, s, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.failed() {
			t.Errorf("%s: %s (refused %t, written anyway %d)", r.Name, line(r), r.Refused, r.WrittenAnyway)
		}
	}
	want := 16 // eleven faults, the fairness row, the PostgreSQL restart, three refusals
	if s.Except != "" {
		want--
	}
	if len(results) < want {
		t.Fatalf("%d results, want %d: every fault and refusal", len(results), want)
	}
}
