package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAttacksAreRefused runs the attack table of issue 23 against the whole system, one
// subtest per row: any row that is not held (BROKEN) fails its subtest, with what was tried
// and what came back.
func TestAttacksAreRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	results, err := run(ctx, "", t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Run(strings.ReplaceAll(r.group+": "+r.name, "/", "-"), func(t *testing.T) {
			if !r.Held {
				t.Errorf("BROKEN: tried %s; got %s; expected %s; %s", r.Tried, r.Got, r.expected, r.Effect)
			}
		})
	}
	if want := 30; len(results) < want {
		t.Fatalf("%d attacks ran, want at least %d", len(results), want)
	}
}
