// Package population generates a registry and a letter history whose shares follow the
// seeds' national figures, so the statistics page and the dashboards have something true
// to show: 4.7 million citizens, of whom 3.5 million gave an e-mail address, 2.5 million a
// mobile number and 729,000 neither; 65.9 % self-enrolled, 10.1 % exempt, 24.0 % enrolled
// automatically. The CPR numbers are made up and the same for the same N, so running it
// again adds nothing.
package population

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/domain/letters"
)

// Shares from seed 002 (of 4.7 million adult citizens).
const (
	national      = 4_700_000.0
	ShareEmail    = 3_500_000 / national
	ShareMobile   = 2_500_000 / national
	ShareNeither  = 729_000 / national
	ShareBoth     = ShareEmail + ShareMobile + ShareNeither - 1 // the overlap of e-mail and mobile
	ShareSelf     = 0.659
	ShareExempt   = 0.101
	ShareAuto     = 0.240
	escalatedPart = 0.06 // of digital letters, not opened in time and sent to paper
)

// Options shape a generated population.
type Options struct {
	Citizens int
	Months   int      // letters spread over this many months back from now
	Senders  []string // senders the letters come from; at least one
	Seed     uint64
}

// Result counts what was written (rows already there are skipped, not counted).
type Result struct{ Citizens, Letters int64 }

// Generate writes the population and one letter per citizen, with its mailbox entry,
// opening and notices, in batches through COPY.
func Generate(ctx context.Context, db *pgxpool.Pool, o Options) (Result, error) {
	if o.Citizens <= 0 || len(o.Senders) == 0 {
		return Result{}, fmt.Errorf("population: need citizens (got %d) and at least one sender", o.Citizens)
	}
	o.Months = max(o.Months, 1)
	const batch = 20_000
	var res Result
	for start := 0; start < o.Citizens; start += batch {
		n, l, err := generateBatch(ctx, db, o, start, min(start+batch, o.Citizens))
		if err != nil {
			return res, err
		}
		res.Citizens += n
		res.Letters += l
	}
	return res, nil
}

var (
	firstNames = []string{"Anne", "Mette", "Kirsten", "Hanne", "Helle", "Susanne", "Lene", "Maria", "Marianne", "Camilla",
		"Peter", "Jens", "Michael", "Lars", "Henrik", "Thomas", "Søren", "Jan", "Niels", "Rasmus", "Emma", "Freja", "William", "Noah"}
	lastNames = []string{"Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
		"Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Christiansen", "Poulsen", "Johansen"}
	towns = []string{"8000 Aarhus C", "2100 København Ø", "5000 Odense C", "9000 Aalborg", "6700 Esbjerg", "8900 Randers", "7100 Vejle"}
)

// cprFor gives citizen i a CPR number that no other i shares: the birth day walks through
// 1940–2008 and the serial through what the seventh digit allows for that century.
func cprFor(i int) (string, time.Time) {
	first := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)
	days := int(time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC).Sub(first).Hours() / 24)
	birth := first.AddDate(0, 0, i%days)
	serial := i / days
	var seventh int
	if birth.Year() < 2000 {
		seventh = serial / 1000 % 4 // 0–3: born in the 1900s
	} else {
		seventh = 4 + serial/1000%6 // 4–9 with a year up to 36: born in the 2000s
	}
	return fmt.Sprintf("%02d%02d%02d%d%03d", birth.Day(), birth.Month(), birth.Year()%100, seventh, serial%1000), birth
}

type person struct {
	id                 uuid.UUID
	cpr, name, address string
	birth              time.Time
	enrolment          string
	email, mobile      string
	lastLogin          *time.Time
}

func generateBatch(ctx context.Context, db *pgxpool.Pool, o Options, from, to int) (int64, int64, error) {
	rng := rand.New(rand.NewPCG(o.Seed, uint64(from)))
	now := time.Now().UTC()
	people := make([]person, 0, to-from)
	for i := from; i < to; i++ {
		number, birth := cprFor(i)
		p := person{id: uuid.NewSHA1(uuid.NameSpaceOID, []byte("digitalpost-population-"+number)), cpr: number, birth: birth,
			name:    firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))],
			address: fmt.Sprintf("Testvej %d\n%s", i%400+1, towns[rng.IntN(len(towns))])}
		switch r := rng.Float64(); {
		case r < ShareSelf:
			p.enrolment = "enrolled"
			login := now.Add(-time.Duration(rng.IntN(365*24)) * time.Hour)
			p.lastLogin = &login
		case r < ShareSelf+ShareExempt:
			p.enrolment = "exempt"
		default:
			p.enrolment = "auto_enrolled"
		}
		switch r := rng.Float64(); {
		case r < ShareBoth:
			p.email, p.mobile = fmt.Sprintf("borger%d@example.dk", i), fmt.Sprintf("+452%07d", i%10_000_000)
		case r < ShareEmail:
			p.email = fmt.Sprintf("borger%d@example.dk", i)
		case r < ShareEmail+(ShareMobile-ShareBoth):
			p.mobile = fmt.Sprintf("+452%07d", i%10_000_000)
		}
		people = append(people, p)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback(ctx)
	// COPY into a scratch table, then insert what is not there yet: COPY itself cannot skip
	// the rows an earlier run wrote.
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE seed_citizens (LIKE citizens INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return 0, 0, err
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"seed_citizens"},
		[]string{"id", "cpr", "name", "birth_date", "address", "enrolment", "exempt_from_self_service", "last_login_at", "email", "mobile"},
		pgx.CopyFromSlice(len(people), func(i int) ([]any, error) {
			p := people[i]
			return []any{p.id, p.cpr, p.name, p.birth, p.address, p.enrolment, p.enrolment == "exempt", p.lastLogin, p.email, p.mobile}, nil
		}))
	if err != nil {
		return 0, 0, fmt.Errorf("copy citizens: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO citizens SELECT * FROM seed_citizens ON CONFLICT DO NOTHING`)
	if err != nil {
		return 0, 0, err
	}
	citizens := tag.RowsAffected()
	letterCount, err := generateLetters(ctx, tx, o, rng, people, now)
	if err != nil {
		return 0, 0, err
	}
	return citizens, letterCount, tx.Commit(ctx)
}

// generateLetters writes one finished letter per person at a random time in the months
// asked for: paper for the exempt, otherwise digital, mostly opened, some escalated.
func generateLetters(ctx context.Context, tx pgx.Tx, o Options, rng *rand.Rand, people []person, now time.Time) (int64, error) {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE seed_letters (LIKE letters INCLUDING DEFAULTS) ON COMMIT DROP;
		CREATE TEMP TABLE seed_mailbox (LIKE mailbox_entries INCLUDING DEFAULTS) ON COMMIT DROP;
		CREATE TEMP TABLE seed_notices (LIKE notifications INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	span := now.Sub(now.AddDate(0, -o.Months, 0))
	var ls, mb, ns [][]any
	for _, p := range people {
		id := uuid.NewSHA1(uuid.NameSpaceOID, []byte("digitalpost-population-letter-"+p.cpr))
		sender := o.Senders[rng.IntN(len(o.Senders))]
		at := now.Add(-time.Duration(rng.Int64N(int64(span))))
		status, channel := letters.Opened, letters.Digital
		switch {
		case p.enrolment == "exempt":
			status, channel = letters.Printed, letters.Paper
		case rng.Float64() < escalatedPart:
			status, channel = letters.Escalated, letters.DigitalThenPaper
		}
		ls = append(ls, []any{id, sender, "seed-" + p.cpr[:6] + "-" + p.cpr[6:], p.id, "Brev fra " + sender,
			"Genereret brev til statistik.", int64(72 * 3600), string(status), string(channel), at, at, at})
		if channel == letters.Paper {
			continue
		}
		delivered := at.Add(time.Second)
		var opened any
		if status == letters.Opened {
			// Most read their post within a day, a tail within the deadline.
			read := delivered.Add(min(time.Duration(rng.ExpFloat64()*float64(8*time.Hour)), 71*time.Hour))
			opened = read
		}
		mb = append(mb, []any{id, p.id, delivered, opened, p.id})
		for ch, to := range map[string]string{"sms": p.mobile, "email": p.email} {
			if to != "" {
				ns = append(ns, []any{id, ch, string(notify.NewPost), "sent", delivered, delivered})
			}
		}
	}
	copyRows := func(table string, cols []string, rows [][]any) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	}
	if err := copyRows("seed_letters", []string{"id", "sender_id", "message_id", "recipient_id", "subject", "body",
		"deadline_seconds", "status", "channel", "created_at", "updated_at", "started_at"}, ls); err != nil {
		return 0, fmt.Errorf("copy letters: %w", err)
	}
	if err := copyRows("seed_mailbox", []string{"letter_id", "citizen_id", "delivered_at", "opened_at", "opened_by"}, mb); err != nil {
		return 0, fmt.Errorf("copy mailbox entries: %w", err)
	}
	if err := copyRows("seed_notices", []string{"letter_id", "channel", "purpose", "state", "created_at", "updated_at"}, ns); err != nil {
		return 0, fmt.Errorf("copy notices: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO letters SELECT * FROM seed_letters ON CONFLICT DO NOTHING`)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO mailbox_entries SELECT * FROM seed_mailbox ON CONFLICT DO NOTHING;
		INSERT INTO notifications SELECT * FROM seed_notices ON CONFLICT DO NOTHING`); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
