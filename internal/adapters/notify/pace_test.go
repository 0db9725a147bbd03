package notify

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/infra/store"
)

// These tests read the slots the pace hands out straight from PostgreSQL, with no provider
// call and no waiting: a burst after an idle spell is a matter of slot arithmetic, and
// timing real calls on a busy machine cannot see it (claims there serialize at about the
// rate anyway; see activities.TestProviderRateHoldsAcrossWorkersWithoutBurst).

// paceRate is slow enough that one round trip to PostgreSQL never takes a whole slot
// (275 ms apart), so consecutive slots are booked back to back; nobody waits for them.
const paceRate = 4

// slotsAfterIdle is how many slots each test takes: three seconds' worth of the rate, more
// than a limiter that saved up for its idle time would hand out at once.
const slotsAfterIdle = 3 * paceRate

// After an idle spell, new notices are claimed from now on, one pace interval apart: the
// time the provider had nothing to do is not saved up and spent as a burst.
func TestPaceDoesNotBurstAfterBeingIdle(t *testing.T) {
	db, _ := store.NewTestDB(t)
	s := NewService(db, nil, nil, Rates{SMS: paceRate})
	ctx := t.Context()
	senderOnFile(t, db)
	idle(t, db, SMS)

	var taken []slot
	before := dbClock(t, db)
	for range slotsAfterIdle {
		n := Notice{LetterID: deliveredLetter(t, db), Channel: SMS, Purpose: NewPost}
		claims, err := s.claim(ctx, []Notice{n}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		c := claims[0]
		if c.slotAt == nil || c.attempt == nil {
			t.Fatalf("notice %d after the idle spell got no slot (slot %v, attempt %v)", len(taken)+1, c.slotAt, c.attempt)
		}
		got := lastSlot(t, db, s, SMS)
		if !c.slotAt.Equal(got.at) {
			t.Fatalf("claim returned slot %s, the pace booked %s", c.slotAt.Format(time.RFC3339Nano), got.at.Format(time.RFC3339Nano))
		}
		taken = append(taken, got)
	}
	checkPaced(t, before, taken, s.interval[SMS])
}

// After an idle spell, a call that woke too late for its slot takes a fresh one from now on
// too (reserveAgain), not one in the idle past that would send it at once beside the others.
func TestLateCallAfterBeingIdleTakesAFreshSlotFromNow(t *testing.T) {
	db, _ := store.NewTestDB(t)
	s := NewService(db, nil, nil, Rates{SMS: paceRate})
	ctx := t.Context()
	senderOnFile(t, db)
	n := Notice{LetterID: deliveredLetter(t, db), Channel: SMS, Purpose: NewPost}
	claims, err := s.claim(ctx, []Notice{n}, time.Minute)
	if err != nil || claims[0].attempt == nil {
		t.Fatalf("claim: %v", err)
	}
	attempt := *claims[0].attempt
	idle(t, db, SMS)

	var taken []slot
	before := dbClock(t, db)
	for range slotsAfterIdle {
		// As callInPace does: the call is marked "calling", finds itself late, and reserves again.
		mark := markCallingStatement(n, attempt)
		if tag, err := db.Exec(ctx, mark.SQL, mark.Args...); err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("mark calling: %v (%d rows)", err, tag.RowsAffected())
		}
		if _, _, err := s.reserveAgain(ctx, n, attempt, time.Minute); err != nil {
			t.Fatalf("late call %d after the idle spell got no fresh slot: %v", len(taken)+1, err)
		}
		taken = append(taken, lastSlot(t, db, s, SMS))
	}
	checkPaced(t, before, taken, s.interval[SMS])
}

// slot is one slot the pace handed out, and PostgreSQL's clock just after it did.
type slot struct{ at, handedOut time.Time }

// checkPaced: no slot lies before the moment the first was asked for, each follows the one
// before by exactly the pace interval, and so no second holds more calls than the rate. A
// slot already past when handed out goes out at once, so that is when it counts.
func checkPaced(t *testing.T, before time.Time, taken []slot, interval time.Duration) {
	t.Helper()
	if interval != 275*time.Millisecond {
		t.Fatalf("pace interval %s at %d/s; the test expects 275ms", interval, paceRate)
	}
	if first := taken[0].at; first.Before(before) {
		t.Errorf("first slot after the idle spell is %s before it was asked for: the idle time was saved up", before.Sub(first))
	}
	for i := 1; i < len(taken); i++ {
		if gap := taken[i].at.Sub(taken[i-1].at); gap != interval {
			t.Errorf("slots %d and %d are %s apart, want the pace interval %s", i, i+1, gap, interval)
		}
	}
	leaves := make([]time.Time, len(taken))
	for i, s := range taken {
		leaves[i] = s.at
		if s.handedOut.After(s.at) {
			leaves[i] = s.handedOut
		}
	}
	for i := range leaves {
		inSecond := 0
		for j := i; j < len(leaves) && leaves[j].Sub(leaves[i]) < time.Second; j++ {
			inSecond++
		}
		if inSecond > paceRate {
			t.Fatalf("%d calls leave within one second from %s, at a rate of %d/s", inSecond, leaves[i].Format(time.RFC3339Nano), paceRate)
		}
	}
}

// idle puts the provider's next free slot ten seconds in the past: what ten seconds without a
// single call leaves behind.
func idle(t *testing.T, db *pgxpool.Pool, ch Channel) {
	t.Helper()
	tag, err := db.Exec(context.Background(),
		`UPDATE provider_pace SET next_at = clock_timestamp() - interval '10 seconds' WHERE channel = $1`, ch)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("idle the %s pace: %v (%d rows)", ch, err, tag.RowsAffected())
	}
}

// lastSlot reads the slot just handed out: the pace row is booked one interval past it.
func lastSlot(t *testing.T, db *pgxpool.Pool, s *Service, ch Channel) slot {
	t.Helper()
	var next, now time.Time
	if err := db.QueryRow(context.Background(),
		`SELECT next_at, clock_timestamp() FROM provider_pace WHERE channel = $1`, ch).Scan(&next, &now); err != nil {
		t.Fatal(err)
	}
	return slot{at: next.Add(-s.interval[ch]), handedOut: now}
}

func dbClock(t *testing.T, db *pgxpool.Pool) time.Time {
	t.Helper()
	var now time.Time
	if err := db.QueryRow(context.Background(), `SELECT clock_timestamp()`).Scan(&now); err != nil {
		t.Fatal(err)
	}
	return now
}

func senderOnFile(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	if _, err := db.Exec(context.Background(),
		`INSERT INTO senders (id, organisation) VALUES ('skat', 'Skattestyrelsen')`); err != nil {
		t.Fatal(err)
	}
}

// deliveredLetter stores a letter waiting in its reader's mailbox, the only kind a notice of
// new post is claimed for. Notices are keyed by letter, so each slot needs one.
func deliveredLetter(t *testing.T, db *pgxpool.Pool) uuid.UUID {
	t.Helper()
	id := uuid.New()
	if _, err := db.Exec(context.Background(), `
		INSERT INTO letters (id, sender_id, message_id, subject, deadline_seconds, status)
		VALUES ($1, 'skat', $2, 'Årsopgørelse', 3600, 'delivered')`, id, id.String()); err != nil {
		t.Fatal(err)
	}
	return id
}
