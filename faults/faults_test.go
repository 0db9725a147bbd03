package main

import (
	"context"
	"testing"
	"time"
)

// TestFaultsLoseNothingAndSendNothingTwice runs every fault of the suite, shorter and with
// fewer letters: the worker killed mid-run and in the notice phase, providers answering 429
// and hanging, a stalled table, terminated connections, a Temporal restart, and the bulk
// files that must be refused whole.
func TestFaultsLoseNothingAndSendNothingTwice(t *testing.T) {
	s := settings{Letters: 60, Rate: 20, ProviderTimeout: 2 * time.Second, Settle: 3 * time.Minute, Scale: 0.25}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	results, err := runSuite(ctx, s, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.failed() {
			t.Errorf("%s: %s (refused %t, written anyway %d)", r.Name, line(r), r.Refused, r.WrittenAnyway)
		}
	}
	if len(results) < 14 {
		t.Fatalf("%d results, want every fault and refusal", len(results))
	}
}
