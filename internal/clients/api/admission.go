package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// senderLimits is a token bucket per sender. The buckets are per API process: with n
// processes behind a balancer a sender gets up to n times the rate.
type senderLimits struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	rate    rate.Limit
	burst   int
}

func newSenderLimits(perSecond float64, burst int) *senderLimits {
	l := &senderLimits{buckets: map[string]*rate.Limiter{}, rate: rate.Limit(perSecond), burst: max(1, burst)}
	if perSecond <= 0 {
		l.rate = rate.Inf
	}
	return l
}

// take takes a token from the sender's bucket; when there is none, it says how long until
// there is one.
func (l *senderLimits) take(sender string) (wait time.Duration, ok bool) {
	l.mu.Lock()
	b, found := l.buckets[sender]
	if !found {
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[sender] = b
	}
	l.mu.Unlock()
	res := b.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d, false
	}
	return 0, true
}

// allowFrom takes a token from the sender's bucket in limits, or answers 429 with when to
// come back; what and variable name the limit in the answer.
func (s *Server) allowFrom(w http.ResponseWriter, limits *senderLimits, sender, what, variable string) bool {
	wait, ok := limits.take(sender)
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeProblem(w, Problem{Type: problemBase + "rate-limited", Title: "too many " + what + " from this sender; retry later",
		Status: http.StatusTooManyRequests, Detail: fmt.Sprintf("the limit is %g %s a second (%s)", float64(limits.rate), what, variable)})
	return false
}

// inflight is what one API process lets in at once. Bodies are held in memory while a request
// is checked (a letter's documents decoded from base64, a batch's letters all at once), so
// what all requests under way may hold is bounded together, estimated from what they declare;
// and each sender's requests under way, and its share of that memory, are bounded, so that one
// sender's burst of large letters cannot take all of it from the others. Both refuse at once rather than queue: a client that is told when to come back
// holds no connection, memory or goroutine here meanwhile.
type inflight struct {
	bytes     *semaphore.Weighted
	capacity  int64
	perSender int

	mu       sync.Mutex
	requests map[string]int
	held     map[string]int64 // bytes reserved, by sender
}

// senderShare is the part of the shared budget one sender's large requests may hold while it
// has other large ones under way: a quarter, so that one sender's large uploads leave room for
// others. A sender with no large request under way may always try one, however large; small
// requests (JSON of at most MaxSmallBytes) do not count against the share.
const senderShare = 4

func newInflight(maxBytes int64, perSender int) *inflight {
	if maxBytes <= 0 {
		maxBytes = math.MaxInt64
	}
	if perSender <= 0 {
		perSender = math.MaxInt
	}
	return &inflight{bytes: semaphore.NewWeighted(maxBytes), capacity: maxBytes, perSender: perSender,
		requests: map[string]int{}, held: map[string]int64{}}
}

// Retry-After for each refusal: a sender's own requests end soon; room in the shared budget
// takes as long as other senders' large bodies.
const (
	retrySenderBusy  = 1 * time.Second
	retryServiceBusy = 5 * time.Second
)

// bodyReservation is what a request may hold: twice the length it declares, or its route's
// limit when it declares none (a chunked body), since the body and what is decoded from it
// (a letter's documents out of base64) are held at once. Requests without a body reserve
// nothing.
func bodyReservation(r *http.Request, maxBody int64) int64 {
	if maxBody <= 0 {
		return 0
	}
	if r.ContentLength >= 0 {
		return 2 * min(r.ContentLength, maxBody)
	}
	return 2 * maxBody
}

// batchLetterBytes is what a batch holds for each letter while the run is checked and stored
// all or nothing, beyond its body: about 1.9 KB (NATIONAL.md), rounded up.
const batchLetterBytes = 2 << 10

// reserveMore takes n more bytes of the budget for a request already let in (a batch, once
// its spooled size is known), or answers 429 or 503 as admit does.
func (s *Server) reserveMore(w http.ResponseWriter, sender string, n int64) (release func(), ok bool) {
	return s.inflight.take(w, sender, n)
}

// take reserves n bytes for sender: refused with 429 when the sender would hold more than its
// share while it holds anything already, and with 503 when the budget is taken.
func (f *inflight) take(w http.ResponseWriter, sender string, n int64) (release func(), ok bool) {
	n = min(n, f.capacity) // a body as large as the budget waits for an idle process
	if n <= 0 {
		return func() {}, true
	}
	share := int64(0) // what counts against the sender's share
	if n > 2*MaxSmallBytes {
		share = n
	}
	f.mu.Lock()
	if held := f.held[sender]; share > 0 && held > 0 && held+share > f.capacity/senderShare {
		f.mu.Unlock()
		senderBusy(w, "this sender's uploads under way hold its share of the service's memory (a quarter of MAX_INFLIGHT_BYTES)")
		return nil, false
	}
	f.held[sender] += share
	f.mu.Unlock()
	if !f.bytes.TryAcquire(n) {
		f.giveBack(sender, share)
		serviceBusy(w)
		return nil, false
	}
	return func() {
		f.bytes.Release(n)
		f.giveBack(sender, share)
	}, true
}

func (f *inflight) giveBack(sender string, n int64) {
	if n == 0 {
		return
	}
	f.mu.Lock()
	if f.held[sender] -= n; f.held[sender] <= 0 {
		delete(f.held, sender)
	}
	f.mu.Unlock()
}

func senderBusy(w http.ResponseWriter, detail string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(retrySenderBusy.Seconds())))
	writeProblem(w, Problem{Type: problemBase + "rate-limited", Title: "too many requests from this sender under way at once; retry later",
		Status: http.StatusTooManyRequests, Detail: detail})
}

func serviceBusy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(retryServiceBusy.Seconds())))
	writeProblem(w, Problem{Type: problemBase + "busy", Title: "the service holds as many uploads as it may; retry later",
		Status: http.StatusServiceUnavailable, Detail: "MAX_INFLIGHT_BYTES is taken by requests under way"})
}

// admit lets a request in under both budgets, or answers 429 (the sender has too many under
// way) or 503 (the process holds all the bodies it may) with Retry-After. release gives back
// what was taken.
func (s *Server) admit(w http.ResponseWriter, sender string, body int64) (release func(), ok bool) {
	f := s.inflight
	f.mu.Lock()
	if f.requests[sender] >= f.perSender {
		f.mu.Unlock()
		senderBusy(w, fmt.Sprintf("at most %d at once (MAX_INFLIGHT_PER_SENDER)", f.perSender))
		return nil, false
	}
	f.requests[sender]++
	f.mu.Unlock()
	done := func() {
		f.mu.Lock()
		if f.requests[sender]--; f.requests[sender] == 0 {
			delete(f.requests, sender)
		}
		f.mu.Unlock()
	}
	giveBack, ok := f.take(w, sender, body)
	if !ok {
		done()
		return nil, false
	}
	return func() {
		giveBack()
		done()
	}, true
}

// tooLarge answers 413 for a body over limit.
func tooLarge(w http.ResponseWriter, limit int64) {
	// Without it the server reads the rest of a small body before it answers, to keep the
	// connection, and a client that never sends it would wait for the body timeout.
	w.Header().Set("Connection", "close")
	writeProblem(w, Problem{Type: problemBase + "too-large", Title: "the request body is too large; nothing was written",
		Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("at most %d bytes", limit)})
}
