package activities_test

// Exactly once across a crash, as the notify service promises it (internal/adapters/notify/service.go):
// a notice is marked "calling" and that mark committed before the provider sees it; a claim is
// released when the mark cannot be written; no call leaves once the context is done; a provider
// that panics takes down nothing but its own notice; an outcome is recorded only over its own
// attempt's call; and only the delivery's first attempt tries the notices. Each test drives the
// real service against PostgreSQL with a provider stand-in, and no row is written by hand.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/adapters/notify"
)

// standIn is a provider (Twilio or SendGrid) whose every call runs answer; call counts from 1.
type standIn struct {
	calls  atomic.Int32
	answer func(ctx context.Context, n notify.Notice, call int) (string, error)
}

func (p *standIn) Send(ctx context.Context, n notify.Notice) (string, error) {
	return p.answer(ctx, n, int(p.calls.Add(1)))
}

func sends(id string) *standIn {
	return &standIn{answer: func(context.Context, notify.Notice, int) (string, error) { return id, nil }}
}

// committed reads a notice's row as another process would: on a connection of its own, so it
// sees only what was committed.
func (f *fixture) committed(ctx context.Context, n notify.Notice) (string, error) {
	conn, err := pgx.Connect(ctx, f.url)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var state string
	var attempts int
	err = conn.QueryRow(ctx, `SELECT state, attempts FROM notifications WHERE letter_id = $1 AND channel = $2 AND purpose = $3`,
		n.LetterID, n.Channel, n.Purpose).Scan(&state, &attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return "no row", nil
	}
	return fmt.Sprintf("%s, attempt %d", state, attempts), err
}

// notice is a notice's row as the service lists it.
func (f *fixture) notice(t *testing.T, id uuid.UUID, ch notify.Channel) notify.Record {
	t.Helper()
	recs, err := f.acts.Notices.ForLetter(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Channel == ch {
			return r
		}
	}
	t.Fatalf("letter %s has no %s notice", id, ch)
	return notify.Record{}
}

// within waits for what ch brings, failing the test instead of hanging.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}

// checksTheMark answers like a provider after reading, as the provider's request arrives, what
// the database has committed about the notice.
func (f *fixture) checksTheMark(seen *sync.Map) *standIn {
	return &standIn{answer: func(ctx context.Context, n notify.Notice, _ int) (string, error) {
		state, err := f.committed(ctx, n)
		if err != nil {
			state = "unreadable: " + err.Error()
		}
		seen.Store(n.Channel, state)
		return "ID-" + string(n.Channel), nil
	}}
}

func TestProviderSeesANoticeOnlyAfterItsCallingMarkIsCommitted(t *testing.T) {
	t.Run("the first try with the delivery, both channels marked in one round trip", func(t *testing.T) {
		f := newFixture(t)
		var seen sync.Map
		p := f.checksTheMark(&seen)
		f.acts.Notices = notify.NewService(f.db, p, p, notify.Rates{})
		id, _ := f.letterTo(t, anna)
		d, err := f.acts.DeliverAndNotify(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range []notify.Channel{notify.SMS, notify.Email} {
			if state, _ := seen.Load(ch); state != "calling, attempt 1" {
				t.Errorf("the %s provider got the notice while the database held %q, want %q", ch, state, "calling, attempt 1")
			}
			if d.Notices[ch].Outcome != notify.Sent || f.notice(t, id, ch).State != "sent" {
				t.Errorf("%s: outcome %+v, state %s, want sent", ch, d.Notices[ch], f.notice(t, id, ch).State)
			}
		}
	})
	t.Run("the queue's attempt, marked after waiting for its pace slot", func(t *testing.T) {
		f := newFixture(t)
		var seen sync.Map
		p := f.checksTheMark(&seen)
		f.acts.Notices = notify.NewService(f.db, p, p, notify.Rates{})
		id := f.delivered(t, anna)
		// The provider is booked a moment ahead: the notice's slot is not due when it is claimed.
		// The clock starts before the booking, so however long its round trip takes on a busy
		// machine, a send that waited for the slot took at least 300 ms from here.
		start := time.Now()
		if _, err := f.db.Exec(context.Background(),
			`UPDATE provider_pace SET next_at = clock_timestamp() + interval '300 milliseconds' WHERE channel = 'sms'`); err != nil {
			t.Fatal(err)
		}
		if out, err := f.send(t, id, notify.SMS); err != nil || out.Outcome != notify.Sent {
			t.Fatalf("%+v %v", out, err)
		}
		if waited := time.Since(start); waited < 250*time.Millisecond {
			t.Fatalf("sent after %s: the notice did not wait for its slot, so this is not the path under test", waited)
		}
		if state, _ := seen.Load(notify.SMS); state != "calling, attempt 1" {
			t.Fatalf("the provider got the notice while the database held %q, want %q", state, "calling, attempt 1")
		}
	})
}

// The mark of a letter's two notices goes in one round trip; when it fails, neither is called
// and both claims are handed back (retrying, with the reason), so the next attempt sends them.
func TestClaimsWhoseMarkFailsAreReleasedUncalledAndTheNextAttemptSends(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sms, email := sends("SM1"), sends("SG1")
	f.acts.Notices = notify.NewService(f.db, sms, email, notify.Rates{})
	id := f.delivered(t, anna)
	// Marking the e-mail fails, and with it the whole round trip: the SMS's mark is rolled back.
	if _, err := f.db.Exec(ctx, `
		CREATE FUNCTION refuse_email_calls() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'the disk is full'; END $$;
		CREATE TRIGGER refuse_email_calls BEFORE UPDATE ON notifications FOR EACH ROW
			WHEN (NEW.channel = 'email' AND NEW.state = 'calling') EXECUTE FUNCTION refuse_email_calls();`); err != nil {
		t.Fatal(err)
	}
	notices := []notify.Notice{notify.NewPostNotice(id, notify.SMS, anna.Mobile, "Skattestyrelsen"),
		notify.NewPostNotice(id, notify.Email, anna.Email, "Skattestyrelsen")}
	for i, r := range f.acts.Notices.SendAll(ctx, notices, true) {
		if r.Err == nil || !strings.Contains(r.Err.Error(), "the disk is full") {
			t.Errorf("%s: %+v, want the failed mark's error", notices[i].Channel, r)
		}
	}
	if n := sms.calls.Load() + email.calls.Load(); n != 0 {
		t.Fatalf("%d provider calls for notices whose mark failed", n)
	}
	for _, ch := range []notify.Channel{notify.SMS, notify.Email} {
		if r := f.notice(t, id, ch); r.State != "retrying" || r.Error != "could not mark the call" {
			t.Errorf("%s notice %s %q after its mark failed, want it released: retrying %q", ch, r.State, r.Error, "could not mark the call")
		}
	}
	if _, err := f.db.Exec(ctx, `DROP TRIGGER refuse_email_calls ON notifications`); err != nil {
		t.Fatal(err)
	}
	for i, r := range f.acts.Notices.SendAll(ctx, notices, true) {
		if r.Err != nil || r.Outcome != notify.Sent {
			t.Errorf("%s on the next attempt: %+v, want sent", notices[i].Channel, r)
		}
	}
	if sms.calls.Load() != 1 || email.calls.Load() != 1 {
		t.Fatalf("%d SMS and %d e-mails, want one each", sms.calls.Load(), email.calls.Load())
	}
}

// cancelAfterMark cancels a context the moment a round trip that marks notices "calling" has
// been committed: between the mark and the provider call, where a worker's deadline can fall.
type cancelAfterMark struct{ cancel context.CancelFunc }

type markingBatch struct{}

func (c *cancelAfterMark) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (c *cancelAfterMark) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *cancelAfterMark) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	for _, q := range data.Batch.QueuedQueries {
		if strings.Contains(q.SQL, "SET state = 'calling'") {
			return context.WithValue(ctx, markingBatch{}, true)
		}
	}
	return ctx
}
func (c *cancelAfterMark) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *cancelAfterMark) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	if ctx.Value(markingBatch{}) != nil && data.Err == nil {
		c.cancel()
	}
}

// A notice whose attempt is cut short after its mark makes no provider call and is counted
// nowhere: the claim goes back to "retrying" and the next attempt sends it.
func TestNoProviderCallOnceTheContextIsDone(t *testing.T) {
	f := newFixture(t)
	id := f.delivered(t, anna)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := pgxpool.ParseConfig(f.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = &cancelAfterMark{cancel: cancel}
	traced, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer traced.Close()
	sms := sends("SM1")
	svc := notify.NewService(traced, sms, nil, notify.Rates{})
	n := notify.NewPostNotice(id, notify.SMS, anna.Mobile, "Skattestyrelsen")
	if out, err := svc.Send(ctx, n, true); !errors.Is(err, context.Canceled) {
		t.Fatalf("%s %v, want the context's cancellation", out, err)
	}
	if ctx.Err() == nil {
		t.Fatal("the context was never cancelled: the mark's round trip was not seen, so this is not the path under test")
	}
	if sms.calls.Load() != 0 {
		t.Fatal("the provider was called after the context was done")
	}
	if r := f.notice(t, id, notify.SMS); r.State != "retrying" || r.Error != "cut short before the provider call" {
		t.Fatalf("notice %s %q, want it released", r.State, r.Error)
	}
	if out, err := svc.Send(context.Background(), n, true); err != nil || out != notify.Sent || sms.calls.Load() != 1 {
		t.Fatalf("the next attempt: %s %v after %d calls, want sent with one call", out, err, sms.calls.Load())
	}
}

// A provider client that panics takes down neither the worker nor the other notice in flight:
// the e-mail goes out with the delivery, and the SMS, which may or may not have reached the
// provider, stays "calling", so the queue's attempt lists it as unknown and never sends it again.
func TestAProviderThatPanicsLeavesItsNoticeUnknownAndTheOtherGoesOut(t *testing.T) {
	f := newFixture(t)
	sms := &standIn{answer: func(context.Context, notify.Notice, int) (string, error) {
		panic("twilio-go: nil pointer in the response")
	}}
	email := sends("SG1")
	f.acts.Notices = notify.NewService(f.db, sms, email, notify.Rates{})
	id, _ := f.letterTo(t, anna)
	d, err := f.acts.DeliverAndNotify(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if out, settled := d.Notices[notify.SMS]; settled {
		t.Fatalf("the SMS whose provider panicked was settled as %+v", out)
	}
	if d.Notices[notify.Email].Outcome != notify.Sent || f.letterStatus(t, id) != "notified" {
		t.Fatalf("e-mail %+v, letter %s: want the other notice sent and recorded", d.Notices[notify.Email], f.letterStatus(t, id))
	}
	if r := f.notice(t, id, notify.SMS); r.State != "calling" {
		t.Fatalf("the SMS is %s after its provider panicked, want calling", r.State)
	}
	out, err := f.send(t, id, notify.SMS)
	if err != nil || out.Outcome != notify.Unknown || sms.calls.Load() != 1 {
		t.Fatalf("the queue's attempt: %+v %v after %d calls, want unknown and no second call", out, err, sms.calls.Load())
	}
}

// A call's outcome is recorded over that call only. Attempt 1 calls and the provider is slow;
// attempt 2 finds the call under way and lists the notice as unknown; an operator finds nothing
// in the provider's log and settles it as not sent; attempt 3 takes the notice over and calls
// again. Attempt 1's answer then arrives late: it must not overwrite attempt 3's call.
func TestALateAnswerDoesNotOverwriteTheCallOfTheAttemptThatTookTheNoticeOver(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	entered := make(chan int, 2)
	answer := []chan struct{}{make(chan struct{}), make(chan struct{})}
	sms := &standIn{answer: func(_ context.Context, _ notify.Notice, call int) (string, error) {
		entered <- call
		<-answer[call-1]
		if call == 1 {
			return "", fmt.Errorf("twilio status 503: %w", notify.ErrNotDelivered)
		}
		return "SM-call-2", nil
	}}
	f.acts.Notices = notify.NewService(f.db, sms, nil, notify.Rates{})
	id := f.delivered(t, anna)
	n := notify.NewPostNotice(id, notify.SMS, anna.Mobile, "Skattestyrelsen")
	// A test that fails half-way leaves no attempt waiting for its answer: cleanup answers
	// both calls and waits for the attempts, before the fixture's database goes.
	var released [2]sync.Once
	release := func(call int) { released[call-1].Do(func() { close(answer[call-1]) }) }
	var attempts sync.WaitGroup
	t.Cleanup(func() { release(1); release(2); attempts.Wait() })

	first := make(chan error, 1)
	attempts.Go(func() { _, err := f.acts.Notices.Send(ctx, n, true); first <- err })
	within(t, entered, "attempt 1's call")
	if out, err := f.acts.Notices.Send(ctx, n, true); err != nil || out != notify.Unknown {
		t.Fatalf("attempt 2: %s %v, want unknown", out, err)
	}
	if err := f.acts.Notices.Resolve(ctx, id, notify.SMS, notify.NewPost, false, "ops"); err != nil {
		t.Fatal(err)
	}
	type result struct {
		out notify.Outcome
		err error
	}
	third := make(chan result, 1)
	attempts.Go(func() { out, err := f.acts.Notices.Send(ctx, n, true); third <- result{out, err} })
	within(t, entered, "attempt 3's call")

	release(1) // attempt 1's answer, late
	if err := within(t, first, "attempt 1"); !errors.Is(err, notify.ErrNotDelivered) {
		t.Fatalf("attempt 1: %v, want its provider's failure", err)
	}
	if r := f.notice(t, id, notify.SMS); r.State != "calling" || r.Attempts != 2 || strings.Contains(r.Error, "503") {
		t.Fatalf("after attempt 1's late answer the notice is %s (attempts %d, %q), want attempt 3's call still under way",
			r.State, r.Attempts, r.Error)
	}
	release(2)
	if r := within(t, third, "attempt 3"); r.err != nil || r.out != notify.Sent {
		t.Fatalf("attempt 3: %s %v, want sent", r.out, r.err)
	}
	if r := f.notice(t, id, notify.SMS); r.State != "sent" || r.ProviderID != "SM-call-2" || f.letterStatus(t, id) != "notified" {
		t.Fatalf("notice %s %q, letter %s: want attempt 3's call recorded", r.State, r.ProviderID, f.letterStatus(t, id))
	}
}

// A delivery retried after a database failure may find the letter withdrawn meanwhile, which
// the workflow decides before any notice goes out: only the first attempt tries the notices.
func TestARetriedDeliveryLeavesTheNoticesToTheWorkflow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id, _ := f.letterTo(t, anna)
	// The first attempt's status write fails, as in a database outage; the second gets through.
	if _, err := f.db.Exec(ctx, `
		CREATE SEQUENCE delivered_writes;
		CREATE FUNCTION first_delivered_write_fails() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF nextval('delivered_writes') = 1 THEN RAISE EXCEPTION 'the database went away'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER first_delivered_write_fails BEFORE UPDATE ON letters FOR EACH ROW
			WHEN (NEW.status = 'delivered') EXECUTE FUNCTION first_delivered_write_fails();`); err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	// As the letter workflow runs it: a local activity, retried.
	deliver := func(ctx workflow.Context, id uuid.UUID) (activities.Delivery, error) {
		ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaximumAttempts: 3}})
		var d activities.Delivery
		err := workflow.ExecuteLocalActivity(ctx, f.acts.DeliverAndNotify, id).Get(ctx, &d)
		return d, err
	}
	env.RegisterWorkflow(deliver)
	env.ExecuteWorkflow(deliver, id)
	var d activities.Delivery
	if err := env.GetWorkflowResult(&d); err != nil {
		t.Fatal(err)
	}
	var writes int
	if err := f.db.QueryRow(ctx, `SELECT last_value FROM delivered_writes`).Scan(&writes); err != nil || writes != 2 {
		t.Fatalf("%d delivered writes (%v), want 2: a failed first attempt and its retry", writes, err)
	}
	if len(d.Notices) != 0 || len(f.twilio.Messages()) != 0 || len(f.mail.Mails()) != 0 {
		t.Fatalf("the retry tried the notices: %+v, %d SMS, %d e-mails", d.Notices, len(f.twilio.Messages()), len(f.mail.Mails()))
	}
	if d.Route.Channel != "digital" || d.DeliveredAt.IsZero() || f.letterStatus(t, id) != "delivered" {
		t.Fatalf("delivery %+v, letter %s: want it delivered by the retry", d, f.letterStatus(t, id))
	}
	recs, err := f.acts.Notices.ForLetter(ctx, id)
	if err != nil || len(recs) != 0 {
		t.Fatalf("notices %+v %v, want none claimed", recs, err)
	}
}
