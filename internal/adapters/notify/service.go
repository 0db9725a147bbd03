package notify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/infra/store"

	"digitalpost/internal/infra/telemetry"
)

// Service sends each notice once per letter, channel and purpose, at each provider's rate.
//
// Pacing. A provider's rate limit is a fact about the whole account, so it is held in
// PostgreSQL (provider_pace): every call, from any worker, reserves the next free slot.
// Slots are spaced (1 s + ArrivalJitter)/rate apart, not 1/rate: a call reaches the provider
// some milliseconds after its slot (a round trip, the scheduler, the HTTP request), and with
// that headroom any sliding second at the provider holds at most rate calls as long as each
// arrives within ArrivalJitter of its slot. A call that wakes late takes a fresh slot. Slots are never handed out more than MaxAhead in advance; a notice
// that finds the provider booked further ahead is not sent now and asks to be retried
// later, so a backlog waits in Temporal (the provider's task queue, itself rate-limited by
// the server), never in a worker's memory.
//
// Urgent lane. A share of each provider's rate (Rates.UrgentShare) is a lane of its own that
// only urgent notices take (a single letter's, a NemSMS message, an appointment reminder): a
// bulk run books the shared lane as far ahead as it may, and an urgent notice would otherwise
// wait behind every call already holding a slot there. An urgent notice whose lane is booked
// takes the shared lane like any other. Both lanes are paced as above, at whole calls a
// second that add up to the provider's limit, so no second holds more than the limit.
//
// Exactly once. A notice row moves claimed → calling → sent | retrying | rejected. Only
// "calling" is dangerous: a process that dies then leaves nobody knowing whether the
// provider got the message. A later attempt that finds "calling" does not send again
// (neither Twilio nor SendGrid has an idempotency key) and marks the notice "unknown" for an
// operator; it never counts as sent. Everything else is safe to retry.
type Service struct {
	// Metrics counts each call's outcome; nil counts nothing.
	Metrics  *telemetry.Metrics
	db       *pgxpool.Pool
	sms      Provider
	email    Provider
	interval map[Channel]time.Duration // the shared lane's slot spacing
	// urgentInterval is the urgent lane's slot spacing; a provider without one is absent.
	urgentInterval map[Channel]time.Duration
	// MaxAhead bounds how far ahead a slot may be reserved (and so how long a call waits in
	// memory). It must exceed the server-side queue limiter's burst (one second's worth).
	MaxAhead time.Duration
	// FirstTryAhead bounds the same for a notice's first try, made with the letter's delivery
	// outside any queue: it takes a slot only when the provider is nearly idle. During a backlog
	// the calls taken from the provider's queue keep the pace booked further ahead than this, so
	// first tries give way and go to the queue, where priority and fairness between senders
	// decide the order: one sender's bulk run cannot take the slots another sender's letter needs.
	FirstTryAhead time.Duration
	sleep         func(context.Context, time.Duration) error
}

// Rates are provider calls per second, across all workers; 0 means no limit.
type Rates struct {
	SMS, Email float64
	// UrgentShare of each provider's rate is kept for urgent notices (see Lanes); 0 keeps none.
	UrgentShare float64
}

// NewService builds the service.
func NewService(db *pgxpool.Pool, sms, email Provider, rates Rates) *Service {
	s := &Service{db: db, sms: sms, email: email, MaxAhead: 2 * time.Second, FirstTryAhead: DefaultFirstTryAhead, sleep: sleepCtx,
		interval: map[Channel]time.Duration{}, urgentInterval: map[Channel]time.Duration{}}
	for ch, rate := range map[Channel]float64{SMS: rates.SMS, Email: rates.Email} {
		shared, urgent := Lanes(rate, rates.UrgentShare)
		s.interval[ch] = interval(shared)
		if urgent > 0 {
			s.urgentInterval[ch] = interval(urgent)
		}
	}
	return s
}

// Lanes splits a provider's limit of perSecond calls into the shared lane and the urgent lane:
// the urgent lane is share of the limit in whole calls a second, none when that is less than one
// (a limit of 0, no limit, has no lanes). Whole calls keep the sum of what both lanes let through
// in any second at the limit.
func Lanes(perSecond, share float64) (shared, urgent float64) {
	if perSecond <= 0 || share <= 0 {
		return perSecond, 0
	}
	urgent = math.Floor(perSecond * share)
	if urgent < 1 || urgent >= perSecond {
		return perSecond, 0
	}
	return perSecond - urgent, urgent
}

// DefaultFirstTryAhead: a first try takes a slot at most this far ahead, a few slots at a
// provider's usual 50 calls a second, and less than the calls a provider's worker holds at once
// (engine.QueueWindow) book it during a backlog.
const DefaultFirstTryAhead = 100 * time.Millisecond

// ArrivalJitter is how much later than its slot a call may reach the provider without two
// calls ever falling into one second with more than rate others. It costs about a tenth of
// the nominal rate; the provider's limit is a contract, and a burst above it is answered 429.
const ArrivalJitter = 100 * time.Millisecond

// lateness is how late a call may leave for the provider and still use its slot: half the
// slot spacing, at most a quarter of ArrivalJitter, so the HTTP request keeps the rest.
func lateness(iv time.Duration) time.Duration {
	return min(max(iv/2, 5*time.Millisecond), ArrivalJitter/4)
}

// PacedRate is the rate calls actually leave at for a provider limit of perSecond.
func PacedRate(perSecond float64) float64 {
	return perSecond * float64(time.Second) / float64(time.Second+ArrivalJitter)
}

// interval is the slot spacing for perSecond calls, in whole microseconds (PostgreSQL's
// resolution), rounded up: rounded down, a second plus the jitter could hold one slot more.
func interval(perSecond float64) time.Duration {
	if perSecond <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(float64(time.Second+ArrivalJitter)/perSecond/1e3)) * time.Microsecond
}

// RetryLater says the notice was not sent now and should be tried again after After.
type RetryLater struct {
	After  time.Duration
	Reason string
}

func (r *RetryLater) Error() string {
	return fmt.Sprintf("%s; retry in %s", r.Reason, r.After.Round(time.Millisecond))
}

// maxLateTries bounds how often one call takes a fresh slot after waking too late for its
// own; after that the notice goes back to Temporal to be retried, never out of pace.
const maxLateTries = 5

// onTime tells whether a call is still close enough to its slot (see lateness), for slots
// spaced iv apart. Rates above 1,000/s, and no limit at all, are not timed.
func onTime(iv time.Duration, target time.Time) bool {
	return iv < time.Millisecond || time.Since(target) <= lateness(iv)
}

// laneInterval is the urgent lane's spacing a notice may take slots from (0: none).
func (s *Service) laneInterval(n Notice) time.Duration {
	if !n.Urgent {
		return 0
	}
	return s.urgentInterval[n.Channel]
}

// slotCTEs reserve a notice's pace slot as the CTE "slot" (its time, at, and its lane's
// spacing, spacing in microseconds): in the provider's urgent lane when the notice may use it
// ($lane, the lane's spacing, above 0) and it is free within $ahead, else in the shared lane
// ($shared) within $ahead; no row when both are booked further ahead. Rows are locked urgent
// lane before shared lane, SMS before e-mail: no two claims lock them in opposite orders.
func slotCTEs(channel, shared, ahead, lane string) string {
	return strings.NewReplacer("$channel", channel, "$shared", shared, "$ahead", ahead, "$lane", lane).Replace(`
		lane AS (
			UPDATE provider_pace SET next_at = greatest(next_at, clock_timestamp()) + ($lane::bigint * interval '1 microsecond')
			WHERE $lane::bigint > 0 AND channel = $channel::text || '/urgent'
			  AND next_at < clock_timestamp() + ($ahead::bigint * interval '1 microsecond')
			RETURNING next_at - ($lane::bigint * interval '1 microsecond') AS at, $lane::bigint AS spacing
		), shared AS (
			UPDATE provider_pace SET next_at = greatest(next_at, clock_timestamp()) + ($shared::bigint * interval '1 microsecond')
			WHERE channel = $channel AND NOT EXISTS (SELECT 1 FROM lane)
			  AND next_at < clock_timestamp() + ($ahead::bigint * interval '1 microsecond')
			RETURNING next_at - ($shared::bigint * interval '1 microsecond') AS at, $shared::bigint AS spacing
		), slot AS (
			SELECT at, spacing FROM lane UNION ALL SELECT at, spacing FROM shared
		)`)
}

// reserveAgain hands a claimed call back to "claimed" and reserves a fresh pace slot for it:
// the slot's time on this machine's clock, and its lane's spacing.
func (s *Service) reserveAgain(ctx context.Context, n Notice, attempt int32, ahead time.Duration) (time.Time, time.Duration, error) {
	var slotAt, dbNow *time.Time
	var spacing *int64
	err := s.db.QueryRow(ctx, `
		WITH back AS (
			UPDATE notifications SET state = 'claimed', updated_at = now()
			WHERE letter_id = $1 AND channel = $2 AND purpose = $3 AND state = 'calling' AND attempts = $4
		), `+slotCTEs("$2", "$5", "$6", "$7")+`
		SELECT (SELECT at FROM slot), (SELECT spacing FROM slot), clock_timestamp()`,
		n.LetterID, n.Channel, n.Purpose, attempt, s.interval[n.Channel].Microseconds(), ahead.Microseconds(),
		s.laneInterval(n).Microseconds()).Scan(&slotAt, &spacing, &dbNow)
	if err != nil {
		s.release(n, attempt, "could not take a fresh slot")
		return time.Time{}, 0, fmt.Errorf("%s notice: %w", n.Channel, err)
	}
	if slotAt == nil {
		s.release(n, attempt, "provider booked ahead")
		return time.Time{}, 0, &RetryLater{After: time.Second, Reason: fmt.Sprintf("%s provider is booked ahead", n.Channel)}
	}
	return time.Now().Add(slotAt.Sub(*dbNow)), time.Duration(*spacing) * time.Microsecond, nil
}

// Send sends one notice unless it was already settled. It returns the outcome, or an error
// when the notice should be retried (a *RetryLater says when).
//
// markNotified: a sent notice also moves a delivered letter to notified, in the same statement.
func (s *Service) Send(ctx context.Context, n Notice, markNotified bool) (Outcome, error) {
	r := s.SendAll(ctx, []Notice{n}, markNotified)[0]
	return r.Outcome, r.Err
}

// Result is how one notice of SendAll ended: its outcome, or an error when it should be
// retried (a *RetryLater says when).
type Result struct {
	Outcome Outcome
	Err     error
}

// SendAll sends the notices of one moment (a letter's SMS and e-mail), each as Send would,
// in fewer round trips: their claims go to PostgreSQL together, the provider calls run side by
// side, and their outcomes are recorded together. Every letter pays for each round trip.
func (s *Service) SendAll(ctx context.Context, ns []Notice, markNotified bool) []Result {
	return s.sendAll(ctx, ns, markNotified, s.MaxAhead)
}

// SendFirstTry is SendAll for the first try of a letter's notices, made outside the providers'
// queues: a notice whose provider is booked further ahead than FirstTryAhead is not sent now
// (*RetryLater) and goes to its provider's queue, where priority and fairness order it among
// the notices already waiting.
func (s *Service) SendFirstTry(ctx context.Context, ns []Notice, markNotified bool) []Result {
	return s.sendAll(ctx, ns, markNotified, min(s.FirstTryAhead, s.MaxAhead))
}

func (s *Service) sendAll(ctx context.Context, ns []Notice, markNotified bool, ahead time.Duration) []Result {
	results := make([]Result, len(ns))
	claims, err := s.claim(ctx, ns, ahead)
	if err != nil {
		for i := range results {
			results[i].Err = err
		}
		return results
	}
	calls := make([]*call, len(ns))
	var due []int // claimed, with a slot that is due now: marked "calling" together below
	for i, n := range ns {
		c := claims[i]
		switch {
		case c.slotAt == nil:
			wait := c.bookedUntil.Sub(*c.dbNow) - ahead + s.interval[n.Channel]
			results[i].Err = &RetryLater{After: max(wait, s.interval[n.Channel], time.Second), Reason: fmt.Sprintf("%s provider is booked ahead", n.Channel)}
		case c.attempt == nil:
			results[i].Outcome, results[i].Err = s.settled(ctx, n, markNotified)
		case !c.slotAt.After(*c.dbNow):
			due = append(due, i)
		}
	}
	s.markCalling(ctx, ns, claims, due, results)
	var wg sync.WaitGroup
	for i, n := range ns {
		if claims[i].attempt == nil || claims[i].slotAt == nil || results[i].Err != nil {
			continue
		}
		wg.Go(func() {
			defer func() {
				// A provider client that panics must not take the worker, and every notice in
				// flight on it, down; the notice stays "calling" and a retry lists it as unknown.
				if r := recover(); r != nil {
					calls[i], results[i].Err = nil, fmt.Errorf("%s notice: provider call panicked: %v", n.Channel, r)
				}
			}()
			calls[i], results[i].Err = s.callInPace(ctx, n, claims[i], ahead)
		})
	}
	wg.Wait()
	s.recordAll(ctx, ns, calls, markNotified)
	for i, c := range calls {
		if c != nil {
			results[i] = s.result(ns[i], c)
		}
	}
	return results
}

// claimed is what claiming a notice found: its pace slot (nil: the provider is booked
// ahead) and the spacing of the lane it is in (microseconds), its attempt (nil: not
// claimable, see settled), and whether it is marked "calling".
type claimed struct {
	slotAt, dbNow, bookedUntil *time.Time
	spacing                    *int64
	attempt                    *int32
	calling                    bool
}

// laneSpacing is the slot spacing of the lane the claim's slot is in.
func (c claimed) laneSpacing() time.Duration {
	if c.spacing == nil {
		return 0
	}
	return time.Duration(*c.spacing) * time.Microsecond
}

// claim reserves a pace slot and claims each notice, all in one round trip. The batch is one
// implicit transaction: callers pass a letter's notices SMS before e-mail, so two batches
// always lock the providers' pace rows in the same order.
func (s *Service) claim(ctx context.Context, ns []Notice, ahead time.Duration) ([]claimed, error) {
	out := make([]claimed, len(ns))
	lookups := make([]store.Lookup, len(ns))
	for i, n := range ns {
		c := &out[i]
		lookups[i] = store.Lookup{SQL: `
		WITH ` + slotCTEs("$2", "$4", "$5", "$7") + `, claim AS (
			INSERT INTO notifications AS n (letter_id, channel, purpose, state, attempts)
			SELECT $1, $2, $3, 'claimed', 1
			FROM slot
			WHERE $6 OR EXISTS (SELECT 1 FROM letters WHERE id = $1 AND status IN ('delivered', 'notified'))
			ON CONFLICT (letter_id, channel, purpose) DO UPDATE
			   SET state = excluded.state, attempts = n.attempts + 1, updated_at = now()
			   WHERE n.state IN ('claimed', 'retrying', 'failed')
			RETURNING attempts
		)
		SELECT (SELECT at FROM slot), (SELECT spacing FROM slot), (SELECT attempts FROM claim), clock_timestamp(),
		       (SELECT next_at FROM provider_pace WHERE channel = $2)`,
			Args: []any{n.LetterID, n.Channel, n.Purpose, s.interval[n.Channel].Microseconds(), ahead.Microseconds(), n.Standalone,
				s.laneInterval(n).Microseconds()},
			Scan: func(row pgx.Row) error {
				return row.Scan(&c.slotAt, &c.spacing, &c.attempt, &c.dbNow, &c.bookedUntil)
			}}
	}
	if err := store.LookupAll(ctx, s.db, lookups...); err != nil {
		return nil, fmt.Errorf("claim notices: %w", err)
	}
	return out, nil
}

// markCalling marks the due claims "calling" in one round trip: the mark that makes a dying
// worker's call "unknown" rather than sent twice, written before the calls leave. A claim
// another attempt took over meanwhile is not called; a failed round trip releases them all
// (only this attempt's own claims), so nothing is left "calling" without a call.
func (s *Service) markCalling(ctx context.Context, ns []Notice, claims []claimed, due []int, results []Result) {
	if len(due) == 0 {
		return
	}
	stmts := make([]store.Statement, len(due))
	for k, i := range due {
		stmts[k] = markCallingStatement(ns[i], *claims[i].attempt)
	}
	affected, err := store.ExecAll(ctx, s.db, stmts...)
	for k, i := range due {
		switch {
		case err != nil:
			s.release(ns[i], *claims[i].attempt, "could not mark the call")
			results[i].Err = fmt.Errorf("%s notice: %w", ns[i].Channel, err)
		case affected[k] == 0:
			results[i].Err = &RetryLater{After: time.Second, Reason: fmt.Sprintf("%s notice is being handled by another attempt", ns[i].Channel)}
		default:
			claims[i].calling = true
		}
	}
}

func markCallingStatement(n Notice, attempt int32) store.Statement {
	return store.Statement{SQL: `UPDATE notifications SET state = 'calling', updated_at = now()
			WHERE letter_id = $1 AND channel = $2 AND purpose = $3 AND state = 'claimed' AND attempts = $4`,
		Args: []any{n.LetterID, n.Channel, n.Purpose, attempt}}
}

// call is one provider call made: how it ended and what is to be recorded of it.
type call struct {
	attempt              int32
	state                string // sent, rejected or retrying
	providerID, errText  string
	sendErr, recordError error
}

// callInPace waits for the notice's pace slot, marks it "calling" and calls the provider. It
// returns no call, and an error, when the notice is not to be sent now.
func (s *Service) callInPace(ctx context.Context, n Notice, c claimed, ahead time.Duration) (*call, error) {
	target, spacing := time.Now().Add(c.slotAt.Sub(*c.dbNow)), c.laneSpacing()
	for try := 1; ; try++ {
		if !c.calling {
			if err := s.sleep(ctx, time.Until(target)); err != nil {
				s.release(n, *c.attempt, "cut short while waiting for the provider's rate")
				return nil, err
			}
			mark := markCallingStatement(n, *c.attempt)
			tag, err := s.db.Exec(ctx, mark.SQL, mark.Args...)
			if err != nil {
				s.release(n, *c.attempt, "could not mark the call")
				return nil, fmt.Errorf("%s notice: %w", n.Channel, err)
			}
			if tag.RowsAffected() == 0 { // another attempt took the notice over while we waited
				return nil, &RetryLater{After: time.Second, Reason: fmt.Sprintf("%s notice is being handled by another attempt", n.Channel)}
			}
		}
		if onTime(spacing, target) {
			break
		}
		if try == maxLateTries {
			s.release(n, *c.attempt, "late for its pace slot every time")
			return nil, &RetryLater{After: time.Second, Reason: fmt.Sprintf("%s notice was late for its pace slot %d times", n.Channel, try)}
		}
		// Late: a stalled worker or a slow round trip. Calls that wake late bunch up with the
		// ones on time and the provider sees a burst, so this one takes a fresh slot instead.
		var err error
		if target, spacing, err = s.reserveAgain(ctx, n, *c.attempt, ahead); err != nil {
			return nil, err
		}
		c.calling = false
	}
	if err := ctx.Err(); err != nil { // cut short after the mark: no call goes out, none is counted
		s.release(n, *c.attempt, "cut short before the provider call")
		return nil, err
	}

	callStart := time.Now()
	providerID, sendErr := s.provider(n.Channel).Send(ctx, n)
	s.Metrics.ProviderCall(string(n.Channel), sendErr == nil, time.Since(callStart))
	made := &call{attempt: *c.attempt, state: "sent", providerID: providerID, sendErr: sendErr}
	switch {
	case sendErr == nil:
	case errors.Is(sendErr, ErrRejected):
		made.state, made.errText = "rejected", sendErr.Error()
	default:
		// 5xx, 429, refused connections, DNS failures and timeouts: the provider did not take
		// the notice. A provider that accepted a message answers within the timeout; one that
		// did not answer is treated as not having accepted it, and the notice is retried.
		made.state, made.errText = "retrying", sendErr.Error()
	}
	return made, nil
}

// result turns a recorded call into the notice's outcome.
func (s *Service) result(n Notice, c *call) Result {
	var slow *SlowDown
	switch {
	case c.recordError != nil:
		// The notice stays "calling": a retry will list it as unknown rather than send twice.
		return Result{Err: fmt.Errorf("%s notice %s but not recorded: %w", n.Channel, c.state, c.recordError)}
	case c.state == "sent":
		return Result{Outcome: Sent}
	case c.state == "rejected":
		return Result{Outcome: Rejected, Err: c.sendErr}
	case errors.As(c.sendErr, &slow) && slow.After > 0:
		s.holdProvider(n.Channel, slow.After)
		return Result{Err: &RetryLater{After: slow.After, Reason: c.sendErr.Error()}}
	}
	return Result{Err: c.sendErr}
}

// recordAll writes the outcome of every call made, in one round trip; should that fail, each
// is written on its own, with retries (record).
func (s *Service) recordAll(ctx context.Context, ns []Notice, calls []*call, markNotified bool) {
	var stmts []store.Statement
	for i, c := range calls {
		if c != nil {
			s.Metrics.Notice(string(ns[i].Channel), string(ns[i].Purpose), c.state)
			stmts = append(stmts, recordStatement(ns[i], c, markNotified))
		}
	}
	if len(stmts) == 0 {
		return
	}
	if _, err := store.ExecAll(context.WithoutCancel(ctx), s.db, stmts...); err == nil {
		return
	}
	for i, c := range calls {
		if c != nil {
			c.recordError = s.record(ctx, ns[i], c, markNotified)
		}
	}
}

func recordStatement(n Notice, c *call, markNotified bool) store.Statement {
	return store.Statement{SQL: `
			WITH n AS (
				UPDATE notifications SET state = $4, provider_id = $5, error = $6, updated_at = now()
				WHERE letter_id = $1 AND channel = $2 AND purpose = $3 AND state = 'calling' AND attempts = $8
				RETURNING letter_id
			)
			UPDATE letters SET status = 'notified', updated_at = now()
			WHERE $7 AND id IN (SELECT letter_id FROM n) AND status = 'delivered'`,
		Args: []any{n.LetterID, n.Channel, n.Purpose, c.state, c.providerID, c.errText, markNotified && c.state == "sent", c.attempt}}
}

// settled answers for a notice that could not be claimed: already sent, rejected, unknown,
// or its letter no longer waits for a reader.
func (s *Service) settled(ctx context.Context, n Notice, markNotified bool) (Outcome, error) {
	var state string
	err := s.db.QueryRow(ctx, `
		UPDATE notifications SET state = CASE WHEN state = 'calling' THEN 'unknown' ELSE state END,
		       error = CASE WHEN state = 'calling' THEN 'an earlier attempt died during the provider call' ELSE error END,
		       updated_at = CASE WHEN state = 'calling' THEN now() ELSE updated_at END
		WHERE letter_id = $1 AND channel = $2 AND purpose = $3
		RETURNING state`, n.LetterID, n.Channel, n.Purpose).Scan(&state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Skipped, nil // never claimed: the letter is not (or no longer) waiting for its reader
	case err != nil:
		return "", fmt.Errorf("%s notice: %w", n.Channel, err)
	}
	switch state {
	case "sent":
		// Sent by an earlier attempt whose workflow task was lost (a Temporal outage): the
		// replayed delivery may have found the letter before it was notified. Say it again.
		if markNotified {
			if _, err := s.db.Exec(ctx, `UPDATE letters SET status = 'notified', updated_at = now()
				WHERE id = $1 AND status = 'delivered'`, n.LetterID); err != nil {
				return "", fmt.Errorf("%s notice: %w", n.Channel, err)
			}
		}
		return Sent, nil
	case "rejected":
		return Rejected, nil
	case "unknown":
		return Unknown, nil
	}
	// claimed, retrying or failed, but the letter no longer waits for its reader
	return Skipped, nil
}

// record writes the outcome of one provider call. It outlasts the caller's deadline and a
// short PostgreSQL outage: an outcome not written leaves the notice "calling", which a
// retry must then treat as unknown.
func (s *Service) record(ctx context.Context, n Notice, c *call, markNotified bool) error {
	ctx = context.WithoutCancel(ctx)
	st := recordStatement(n, c, markNotified)
	var err error
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		_, err = s.db.Exec(ctx, st.SQL, st.Args...)
		if err == nil || wait >= 5*time.Second {
			return err
		}
		time.Sleep(wait)
	}
}

// release hands a notice back when this attempt made no provider call, so the next attempt
// sends it. Only this attempt's own claim is released: another attempt's call is left alone.
func (s *Service) release(n Notice, attempt int32, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = s.db.Exec(ctx, `UPDATE notifications SET state = 'retrying', error = $4, updated_at = now()
		WHERE letter_id = $1 AND channel = $2 AND purpose = $3 AND state IN ('claimed', 'calling') AND attempts = $5`,
		n.LetterID, n.Channel, n.Purpose, why, attempt)
}

// holdProvider keeps every worker from calling a provider that asked us to wait, in both lanes.
// One row a statement, urgent lane first: a claim may hold the urgent row while it waits for the
// shared one, and a statement locking both in another order would deadlock with it.
func (s *Service) holdProvider(ch Channel, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, row := range []string{string(ch) + "/urgent", string(ch)} {
		_, _ = s.db.Exec(ctx, `UPDATE provider_pace SET next_at = greatest(next_at, clock_timestamp() + $2::bigint * interval '1 microsecond')
			WHERE channel = $1`, row, d.Microseconds())
	}
}

// GiveUp marks a notice that was retried for its whole window without reaching the provider.
func (s *Service) GiveUp(ctx context.Context, letter uuid.UUID, ch Channel, purpose Purpose, why string) error {
	_, err := s.db.Exec(ctx, `UPDATE notifications SET state = 'failed', error = $4, updated_at = now()
		WHERE letter_id = $1 AND channel = $2 AND purpose = $3 AND state IN ('claimed', 'retrying')`, letter, ch, purpose, why)
	return err
}

func (s *Service) provider(ch Channel) Provider {
	if ch == Email {
		return s.email
	}
	return s.sms
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Record is a notice as stored, for status pages, operators and tests.
type Record struct {
	LetterID   uuid.UUID
	Channel    Channel
	Purpose    Purpose
	State      string
	Attempts   int
	ProviderID string
	Error      string
	Resolution string
	UpdatedAt  time.Time
}

const recordColumns = `letter_id, channel, purpose, state, attempts, provider_id, error, resolution, updated_at`

func recordColumnsOf(table string) string {
	return table + "." + strings.ReplaceAll(recordColumns, ", ", ", "+table+".")
}

func scanRecords(rows pgx.Rows) ([]Record, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Record, error) {
		var rec Record
		err := r.Scan(&rec.LetterID, &rec.Channel, &rec.Purpose, &rec.State, &rec.Attempts, &rec.ProviderID, &rec.Error, &rec.Resolution, &rec.UpdatedAt)
		return rec, err
	})
}

// ForLetter lists the notices of one letter.
func (s *Service) ForLetter(ctx context.Context, letter uuid.UUID) ([]Record, error) {
	rows, err := s.db.Query(ctx, `SELECT `+recordColumns+` FROM notifications WHERE letter_id = $1 ORDER BY channel, purpose`, letter)
	if err != nil {
		return nil, err
	}
	return scanRecords(rows)
}

// Stuck lists notices that need an operator: unknown ones, and ones of letters still
// waiting for their reader that have been retrying (a provider outage) or left mid-attempt
// for longer than olderThan.
func (s *Service) Stuck(ctx context.Context, olderThan time.Duration, limit int) ([]Record, error) {
	rows, err := s.db.Query(ctx, `SELECT `+recordColumnsOf("n")+` FROM notifications n JOIN letters l ON l.id = n.letter_id
		WHERE n.state = 'unknown'
		   OR (n.state IN ('calling', 'retrying', 'claimed') AND n.updated_at < now() - $1::bigint * interval '1 microsecond'
		       AND l.status IN ('delivered', 'notified'))
		ORDER BY n.updated_at LIMIT $2`, olderThan.Microseconds(), limit)
	if err != nil {
		return nil, err
	}
	return scanRecords(rows)
}

// ErrNotUnknown is returned when an operator settles a notice that is not unknown.
var ErrNotUnknown = errors.New("notice is not unknown")

// Resolve settles an unknown notice after an operator checked the provider's own records:
// sent (the provider has it: the letter counts as notified) or not sent (it stays unsent;
// the letter's paper escalation still covers the citizen).
func (s *Service) Resolve(ctx context.Context, letter uuid.UUID, ch Channel, purpose Purpose, sent bool, operator string) error {
	state := "failed"
	if sent {
		state = "sent"
	}
	tag, err := s.db.Exec(ctx, `
		WITH n AS (
			UPDATE notifications SET state = $4, resolution = $5, updated_at = now()
			WHERE letter_id = $1 AND channel = $2 AND purpose = $3 AND state = 'unknown'
			RETURNING letter_id
		), l AS (
			UPDATE letters SET status = 'notified', updated_at = now()
			WHERE $6 AND id IN (SELECT letter_id FROM n) AND status = 'delivered'
		)
		SELECT 1 FROM n`, letter, ch, purpose, state, fmt.Sprintf("%s by %s at %s", state, operator, time.Now().UTC().Format(time.RFC3339)), sent && purpose == NewPost)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotUnknown
	}
	return nil
}
