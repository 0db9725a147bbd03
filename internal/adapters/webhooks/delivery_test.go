package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/adapters/webhooks"
	"digitalpost/internal/domain/events"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/infra/store"
	"digitalpost/internal/infra/testenv"
)

const sender = "region-midt"

// receiver is a sender's webhook endpoint that keeps every call in the order it came.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []string // the webhook-id of every call, taken or not
	taken  []string // the webhook-id of every call answered 2xx
	tries  map[string]int
	refuse func(id string, try int) bool // answer 503 to this try of this event
}

func (r *receiver) seen() (calls, taken []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls), slices.Clone(r.taken)
}

// delivery is one sender's webhook on a fresh database, with six events in its feed: three
// letters, each received, two of them changed again afterwards, so the feed interleaves them.
type delivery struct {
	db    *pgxpool.Pool
	hooks *webhooks.Hooks
	rcv   *receiver
	feed  []string // the event ids in feed order
}

func newDelivery(t *testing.T, refuse func(id string, try int) bool) *delivery {
	t.Helper()
	ctx := context.Background()
	db, _ := store.NewTestDB(t)
	reg := registry.New(db)
	if err := reg.AddSender(ctx, registry.Sender{ID: sender, Organisation: "Region Midtjylland"}); err != nil {
		t.Fatal(err)
	}
	anna, err := reg.AddCitizen(ctx, registry.NewCitizen{CPR: "010180-1234", Name: "Anna Jensen", Address: "Vestergade 1\n8000 Aarhus C"})
	if err != nil {
		t.Fatal(err)
	}
	rcv := &receiver{tries: map[string]int{}, refuse: refuse}
	rcv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		rcv.calls = append(rcv.calls, id)
		rcv.tries[id]++
		if rcv.refuse != nil && rcv.refuse(id, rcv.tries[id]) {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		rcv.taken = append(rcv.taken, id)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.srv.Close)
	feed := events.NewFeed(db)
	h := webhooks.New(db, feed)
	h.AllowHTTP, h.AllowInternal = true, true
	if _, err := h.Set(ctx, sender, rcv.srv.URL+"/hook"); err != nil {
		t.Fatal(err)
	}
	// Each statement its own transaction: six events, in this order.
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for _, id := range ids {
		if _, err := db.Exec(ctx, `INSERT INTO letters (id, sender_id, message_id, recipient_id, subject, deadline_seconds, status)
			VALUES ($1, $2, $3, $4, 'Brev', 3600, 'received')`, id, sender, id.String(), anna.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, change := range []struct {
		letter uuid.UUID
		status string
	}{{ids[0], "delivered"}, {ids[2], "delivered"}, {ids[0], "opened"}} {
		if _, err := db.Exec(ctx, `UPDATE letters SET status = $2 WHERE id = $1`, change.letter, change.status); err != nil {
			t.Fatal(err)
		}
	}
	d := &delivery{db: db, hooks: h, rcv: rcv}
	// The feed shows an event once no older transaction runs anywhere on the server.
	testenv.Eventually(t, 30*time.Second, "six events in the feed", func() bool {
		evs, err := feed.After(ctx, sender, events.Cursor{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		d.feed = nil
		for _, e := range evs {
			d.feed = append(d.feed, e.ID)
		}
		return len(d.feed) == 6
	})
	return d
}

// round is one delivery round as the webhook activity runs it; nil, or the receiver's refusal.
func (d *delivery) round(t *testing.T) (webhooks.Round, *webhooks.RetryLater) {
	t.Helper()
	r, err := d.hooks.Deliver(context.Background(), sender, 10*time.Millisecond, func() {})
	var later *webhooks.RetryLater
	if errors.As(err, &later) {
		return r, later
	}
	if err != nil {
		t.Fatal(err)
	}
	return r, nil
}

func without(ids []string, leave string) []string {
	return slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == leave })
}

// The receiver gets the sender's events in the order of the feed (GET /v1/events), each once.
func TestEventsReachTheReceiverInFeedOrder(t *testing.T) {
	d := newDelivery(t, nil)
	for i := 0; i < 5; i++ {
		if _, later := d.round(t); later != nil {
			t.Fatal(later)
		}
		if _, taken := d.rcv.seen(); len(taken) >= len(d.feed) {
			break
		}
	}
	calls, taken := d.rcv.seen()
	if !slices.Equal(taken, d.feed) || !slices.Equal(calls, d.feed) {
		t.Fatalf("the receiver got %v (taken %v), the feed is %v", calls, taken, d.feed)
	}
}

// While the receiver refuses an event, the events after it wait: the retry comes first, and
// they follow in feed order once it is taken.
func TestLaterEventsWaitWhileAnEventIsRetried(t *testing.T) {
	var second atomic.Value
	second.Store("")
	d := newDelivery(t, func(id string, try int) bool { return id == second.Load() && try <= 3 })
	second.Store(d.feed[1])
	refusals := 0
	for i := 0; i < 10; i++ {
		_, later := d.round(t)
		if later != nil {
			refusals++
			// The sender sees it failing, and nothing behind it has gone out.
			w, err := d.hooks.Get(context.Background(), sender)
			if err != nil || w.FailingSince == nil || !strings.Contains(w.LastError, "503") || w.Attempts != refusals {
				t.Fatalf("after refusal %d the webhook shows %+v, %v", refusals, w, err)
			}
			if calls, _ := d.rcv.seen(); slices.ContainsFunc(calls, func(id string) bool { return slices.Index(d.feed, id) > 1 }) {
				t.Fatalf("an event after the refused one went out while it was retried: %v (feed %v)", calls, d.feed)
			}
		}
		if _, taken := d.rcv.seen(); len(taken) >= len(d.feed) {
			break
		}
	}
	calls, taken := d.rcv.seen()
	want := append([]string{d.feed[0]}, slices.Repeat(d.feed[1:2], 4)...)
	want = append(want, d.feed[2:]...)
	if refusals != 3 || !slices.Equal(calls, want) || !slices.Equal(taken, d.feed) {
		t.Fatalf("%d refusals; calls %v, want %v; taken %v", refusals, calls, want, taken)
	}
}

// An event the receiver refuses for GiveUpAfter (72 hours, on a clock moved forward) is
// recorded as failed, for the sender to see, and the events after it are delivered. One hour
// short of it, the event is still retried and the rest still wait.
func TestAnEventRefusedForGiveUpAfterIsRecordedFailedAndDeliveryGoesOn(t *testing.T) {
	var refused atomic.Value
	refused.Store("")
	d := newDelivery(t, func(id string, _ int) bool { return id == refused.Load() })
	refused.Store(d.feed[1])
	var ahead atomic.Int64
	d.hooks.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }

	if _, later := d.round(t); later == nil {
		t.Fatal("the refused event was not left to a retry")
	}
	ahead.Store(int64(webhooks.GiveUpAfter - time.Hour))
	if _, later := d.round(t); later == nil {
		t.Fatal("the event was given up an hour before GiveUpAfter")
	}
	if w, err := d.hooks.Get(context.Background(), sender); err != nil || len(w.Failures) != 0 || w.Attempts != 2 {
		t.Fatalf("an hour before GiveUpAfter: %+v, %v", w, err)
	}
	if _, taken := d.rcv.seen(); !slices.Equal(taken, d.feed[:1]) {
		t.Fatalf("events went out behind the refused one: %v", taken)
	}

	ahead.Store(int64(webhooks.GiveUpAfter + time.Minute))
	r, later := d.round(t)
	if later != nil || r.GivenUp != 1 || r.Delivered != 4 {
		t.Fatalf("after GiveUpAfter: round %+v, %v", r, later)
	}
	w, err := d.hooks.Get(context.Background(), sender)
	if err != nil || len(w.Failures) != 1 || w.Failures[0].EventID != d.feed[1] || w.Failures[0].Attempts != 3 ||
		!strings.Contains(w.Failures[0].Error, "503") || w.FailingSince != nil || w.Attempts != 0 || w.Delivered != 5 {
		t.Fatalf("after GiveUpAfter the webhook shows %+v, %v", w, err)
	}
	if _, taken := d.rcv.seen(); !slices.Equal(taken, without(d.feed, d.feed[1])) {
		t.Fatalf("taken %v, want the feed %v without the event given up", taken, d.feed)
	}
}
