package notify

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/infra/store"
)

func TestLanesSplitTheLimitInWholeCallsASecond(t *testing.T) {
	for _, c := range []struct{ rate, share, shared, urgent float64 }{
		{50, 0.1, 45, 5},
		{10, 0.15, 9, 1},
		{4, 0.1, 4, 0}, // less than one call a second: no lane, the limit stays whole
		{50, 0, 50, 0}, // no share asked for
		{0, 0.1, 0, 0}, // no limit, no lanes
		{2, 0.5, 1, 1}, // half of two
		{1, 0.5, 1, 0}, // half of one is not a whole call
		{33, 0.2, 27, 6},
	} {
		shared, urgent := Lanes(c.rate, c.share)
		if shared != c.shared || urgent != c.urgent {
			t.Errorf("Lanes(%v, %v) = %v shared, %v urgent; want %v and %v", c.rate, c.share, shared, urgent, c.shared, c.urgent)
		}
		if shared+urgent != c.rate {
			t.Errorf("Lanes(%v, %v): the lanes add up to %v, not the limit", c.rate, c.share, shared+urgent)
		}
	}
}

// A bulk run books the shared lane as far ahead as a claim may look; an urgent notice then
// still leaves at once, in its lane, and a bulk notice never takes that lane.
func TestUrgentNoticeGoesAheadOfABookedSharedLane(t *testing.T) {
	db, _ := store.NewTestDB(t)
	s := NewService(db, nil, nil, Rates{SMS: 50, UrgentShare: 0.1})
	ctx := t.Context()
	senderOnFile(t, db)
	const ahead = 500 * time.Millisecond

	bulk := 0
	for ; ; bulk++ {
		c := claimOne(t, s, Notice{LetterID: deliveredLetter(t, db), Channel: SMS, Purpose: NewPost}, ahead)
		if c.slotAt == nil {
			break
		}
		if got := c.laneSpacing(); got != s.interval[SMS] {
			t.Fatalf("bulk notice %d took a slot spaced %s, the shared lane's is %s", bulk+1, got, s.interval[SMS])
		}
	}
	if bulk < 15 {
		t.Fatalf("only %d bulk notices booked the shared lane half a second ahead at 45/s", bulk)
	}
	var laneNext time.Time
	if err := db.QueryRow(ctx, `SELECT next_at FROM provider_pace WHERE channel = 'sms/urgent'`).Scan(&laneNext); err != nil {
		t.Fatal(err)
	}
	if laneNext.After(dbClock(t, db)) {
		t.Fatalf("the urgent lane is booked until %s after bulk notices alone", laneNext)
	}

	lane := s.urgentInterval[SMS]
	if want := time.Duration(float64(time.Second+ArrivalJitter) / 5); lane != want {
		t.Fatalf("urgent lane spacing %s, want %s (5 calls a second)", lane, want)
	}
	var slots []time.Time
	for i := range 3 {
		asked := dbClock(t, db)
		c := claimOne(t, s, Notice{LetterID: deliveredLetter(t, db), Channel: SMS, Purpose: NewPost, Urgent: true}, ahead)
		if c.slotAt == nil {
			t.Fatalf("urgent notice %d found no slot while its lane had one within %s", i+1, ahead)
		}
		if c.laneSpacing() != lane {
			t.Fatalf("urgent notice %d took the shared lane (spacing %s) while its own was free", i+1, c.laneSpacing())
		}
		if i == 0 && c.slotAt.Sub(asked) > 10*time.Millisecond {
			t.Fatalf("the first urgent notice waits %s behind the bulk run; its lane was idle", c.slotAt.Sub(asked))
		}
		slots = append(slots, *c.slotAt)
	}
	for i := 1; i < len(slots); i++ {
		if gap := slots[i].Sub(slots[i-1]); gap != lane {
			t.Errorf("urgent slots %d and %d are %s apart, want the lane's %s", i, i+1, gap, lane)
		}
	}
	// With its lane booked, an urgent notice takes the shared lane; with both booked, it
	// waits for the queue like any other.
	book(t, db, "sms/urgent", 10*time.Second)
	book(t, db, "sms", 0)
	if c := claimOne(t, s, Notice{LetterID: deliveredLetter(t, db), Channel: SMS, Purpose: NewPost, Urgent: true}, ahead); c.slotAt == nil || c.laneSpacing() != s.interval[SMS] {
		t.Fatalf("an urgent notice with its lane booked got slot %v spaced %s; want the shared lane's", c.slotAt, c.laneSpacing())
	}
	book(t, db, "sms", 10*time.Second)
	if c := claimOne(t, s, Notice{LetterID: deliveredLetter(t, db), Channel: SMS, Purpose: NewPost, Urgent: true}, ahead); c.slotAt != nil {
		t.Fatalf("an urgent notice got a slot at %s with both lanes booked past %s", c.slotAt, ahead)
	}
}

// book puts a pace row's next free slot from in the future (0: free now).
func book(t *testing.T, db *pgxpool.Pool, row string, from time.Duration) {
	t.Helper()
	tag, err := db.Exec(context.Background(),
		`UPDATE provider_pace SET next_at = clock_timestamp() + $2::bigint * interval '1 microsecond' WHERE channel = $1`, row, from.Microseconds())
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("book the %s pace: %v", row, err)
	}
}

// Whatever mix of urgent and bulk notices takes them, the slots of both lanes together never
// put more than the limit into any second at the provider (a second plus the arrival jitter
// of slots, as the single lane is spaced).
func TestBothLanesTogetherKeepTheLimit(t *testing.T) {
	db, _ := store.NewTestDB(t)
	const rate = 20
	s := NewService(db, nil, nil, Rates{SMS: rate, UrgentShare: 0.25})
	senderOnFile(t, db)

	var slots []time.Time
	for i := range 3 * rate {
		n := Notice{LetterID: deliveredLetter(t, db), Channel: SMS, Purpose: NewPost, Urgent: i%3 == 0}
		c := claimOne(t, s, n, time.Minute)
		if c.slotAt == nil {
			t.Fatalf("notice %d got no slot within a minute", i+1)
		}
		slots = append(slots, *c.slotAt)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].Before(slots[j]) })
	window := time.Second + ArrivalJitter
	for i := range slots {
		in := 0
		for j := i; j < len(slots) && slots[j].Sub(slots[i]) < window; j++ {
			in++
		}
		if in > rate {
			t.Fatalf("%d slots within %s from %s, at a limit of %d/s", in, window, slots[i].Format(time.RFC3339Nano), rate)
		}
	}
}

// A provider that answers 429 holds both lanes: urgent notices do not call it meanwhile.
func TestSlowDownHoldsTheUrgentLaneToo(t *testing.T) {
	db, _ := store.NewTestDB(t)
	s := NewService(db, nil, nil, Rates{SMS: 50, UrgentShare: 0.1})
	before := dbClock(t, db)
	s.holdProvider(SMS, 5*time.Second)
	rows, err := db.Query(context.Background(), `SELECT channel, next_at FROM provider_pace WHERE channel LIKE 'sms%'`)
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]time.Time{}
	for rows.Next() {
		var ch string
		var at time.Time
		if err := rows.Scan(&ch, &at); err != nil {
			t.Fatal(err)
		}
		held[ch] = at
	}
	if len(held) != 2 {
		t.Fatalf("SMS pace rows %v, want the shared and the urgent lane", held)
	}
	for ch, at := range held {
		if at.Before(before.Add(5 * time.Second)) {
			t.Errorf("%s is free again at %s, before the provider's 5 s", ch, at.Format(time.RFC3339Nano))
		}
	}
}

func claimOne(t *testing.T, s *Service, n Notice, ahead time.Duration) claimed {
	t.Helper()
	claims, err := s.claim(t.Context(), []Notice{n}, ahead)
	if err != nil {
		t.Fatal(err)
	}
	return claims[0]
}
