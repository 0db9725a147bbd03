package rollout

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// A request never waits for Temporal once there is an answer: past its freshness the last
// answer is served while one look runs in the background, and the look's answer is served next.
func TestRoutingServesTheLastAnswerWhileItLooksAgain(t *testing.T) {
	r := &Routing{fresh: 50 * time.Millisecond, answers: map[string]answer{}}
	ctx := context.Background()
	var looks atomic.Int32
	var polled atomic.Bool
	release := make(chan struct{})
	look := func(context.Context) (bool, error) {
		if looks.Add(1) > 1 {
			<-release // Temporal is slow
		}
		return polled.Load(), nil
	}
	if r.cached(ctx, "q", look) {
		t.Fatal("first look: polled, want not")
	}
	polled.Store(true)
	time.Sleep(60 * time.Millisecond) // the answer is stale now

	start := time.Now()
	for range 3 {
		if r.cached(ctx, "q", look) {
			t.Fatal("the looks in flight answered before Temporal did")
		}
	}
	if waited := time.Since(start); waited > 20*time.Millisecond {
		t.Fatalf("requests waited %v for a slow Temporal", waited)
	}
	for wait := time.Now().Add(time.Second); looks.Load() < 2 && time.Now().Before(wait); {
		time.Sleep(time.Millisecond) // the refresh's goroutine starting
	}
	time.Sleep(20 * time.Millisecond)
	if n := looks.Load(); n != 2 {
		t.Fatalf("%d looks, want the first and one refresh however many ask meanwhile", n)
	}
	close(release)
	deadline := time.Now().Add(time.Second)
	for !r.cached(ctx, "q", look) {
		if time.Now().After(deadline) {
			t.Fatal("the refreshed answer never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A failed look counts as no, for a second only, and a cancelled request leaves no failed look
// behind for the others.
func TestRoutingFailuresAreNoAndShortLived(t *testing.T) {
	r := &Routing{fresh: time.Minute, answers: map[string]answer{}}
	if r.cached(context.Background(), "q", func(context.Context) (bool, error) { return true, errors.New("unavailable") }) {
		t.Fatal("a failed look answered yes")
	}
	if a := r.answers["q"]; a.fresh != failedFresh {
		t.Fatalf("a failed look is kept %v, want %v", a.fresh, failedFresh)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	got := r.look(cancelled, func(ctx context.Context) (bool, error) { return true, ctx.Err() })
	if !got.yes {
		t.Fatal("a look made for a cancelled request failed with it")
	}
}
