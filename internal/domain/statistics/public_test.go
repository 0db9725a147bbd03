package statistics

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fifty visitors at once cost one count; the next visitor within the TTL costs none.
func TestPublicFiguresAreCountedOncePerTTL(t *testing.T) {
	var counts atomic.Int32
	c := &PublicCache{ttl: time.Hour, count: func(ctx context.Context, from time.Time) (Public, error) {
		counts.Add(1)
		time.Sleep(50 * time.Millisecond) // a scan takes a while; the others wait for it
		return Public{Population: Population{Citizens: 7}, From: from, At: time.Now()}, nil
	}}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if p, err := c.Get(context.Background(), from); err != nil || p.Population.Citizens != 7 {
				t.Errorf("%+v, %v", p, err)
			}
		})
	}
	wg.Wait()
	if _, err := c.Get(context.Background(), from); err != nil {
		t.Fatal(err)
	}
	if n := counts.Load(); n != 1 {
		t.Fatalf("51 visitors cost %d counts, want 1", n)
	}
	// A new month counts afresh; so does the same month once the TTL has passed.
	if _, err := c.Get(context.Background(), from.AddDate(0, 1, 0)); err != nil || counts.Load() != 2 {
		t.Fatalf("a new month: %d counts, %v", counts.Load(), err)
	}
	c.ttl = 0
	if _, err := c.Get(context.Background(), from.AddDate(0, 1, 0)); err != nil || counts.Load() != 3 {
		t.Fatalf("after the TTL: %d counts, %v", counts.Load(), err)
	}
}
