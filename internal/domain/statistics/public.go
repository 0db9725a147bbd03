package statistics

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Public is what the public statistics page shows: the population and the letters and
// notices per month since From.
type Public struct {
	Population Population
	Months     []Month
	From       time.Time
	At         time.Time // when it was counted
}

// PublicCache counts Public at most once per TTL, however many ask at once. The page is
// anonymous and each count scans the citizens and letters tables on the pool the workers
// use: uncached, anyone could keep those scans running and slow every letter down.
type PublicCache struct {
	ttl     time.Duration
	count   func(ctx context.Context, from time.Time) (Public, error)
	flights singleflight.Group

	mu   sync.Mutex
	last Public
}

// Counter counts the public figures (Stats does, from PostgreSQL).
type Counter interface {
	Population(ctx context.Context) (Population, error)
	Months(ctx context.Context, from time.Time) ([]Month, error)
}

// NewPublicCache counts with s, at most once per ttl.
func NewPublicCache(s Counter, ttl time.Duration) *PublicCache {
	return &PublicCache{ttl: ttl, count: func(ctx context.Context, from time.Time) (Public, error) {
		pop, err := s.Population(ctx)
		if err != nil {
			return Public{}, err
		}
		months, err := s.Months(ctx, from)
		return Public{Population: pop, Months: months, From: from, At: time.Now()}, err
	}}
}

// Get is the figures since from, counted less than TTL ago. Callers asking at once share one
// count; it runs to the end even if the caller that started it goes away.
func (c *PublicCache) Get(ctx context.Context, from time.Time) (Public, error) {
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	if last.From.Equal(from) && time.Since(last.At) < c.ttl {
		return last, nil
	}
	ch := c.flights.DoChan(from.String(), func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		p, err := c.count(ctx, from)
		if err == nil {
			c.mu.Lock()
			c.last = p
			c.mu.Unlock()
		}
		return p, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return Public{}, res.Err
		}
		return res.Val.(Public), nil
	case <-ctx.Done():
		return Public{}, ctx.Err()
	}
}
