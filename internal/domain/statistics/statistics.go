// Package statistics counts what the seeds report about Digital Post (citizens by enrolment
// and contact details, letters and notices per month) and what a sender wants to know of
// their own letters, from PostgreSQL.
package statistics

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/domain/letters"
)

// Stats reads the counts.
type Stats struct{ db *pgxpool.Pool }

func New(db *pgxpool.Pool) *Stats { return &Stats{db: db} }

// Population is the living citizens by enrolment and by the contact details they gave.
type Population struct {
	Citizens                           int
	SelfEnrolled, AutoEnrolled, Exempt int
	Email, Mobile, Both, Neither       int // Email and Mobile each include Both
}

// Share is part of Citizens as a fraction (0 for an empty registry).
func (p Population) Share(n int) float64 {
	if p.Citizens == 0 {
		return 0
	}
	return float64(n) / float64(p.Citizens)
}

// Population counts the living citizens (the deceased no longer take part).
func (s *Stats) Population(ctx context.Context) (Population, error) {
	var p Population
	err := s.db.QueryRow(ctx, `SELECT count(*),
		count(*) FILTER (WHERE enrolment = 'enrolled'), count(*) FILTER (WHERE enrolment = 'auto_enrolled'),
		count(*) FILTER (WHERE enrolment = 'exempt'),
		count(*) FILTER (WHERE email <> ''), count(*) FILTER (WHERE mobile <> ''),
		count(*) FILTER (WHERE email <> '' AND mobile <> ''), count(*) FILTER (WHERE email = '' AND mobile = '')
		FROM citizens WHERE died_on IS NULL`).Scan(&p.Citizens, &p.SelfEnrolled, &p.AutoEnrolled, &p.Exempt,
		&p.Email, &p.Mobile, &p.Both, &p.Neither)
	return p, err
}

// Month is one calendar month (Danish time) of letters by channel, of notices sent, and of
// citizens' replies to letters and messages written first.
type Month struct {
	Month                            time.Time
	Digital, Paper, DigitalThenPaper int
	SMS, Email                       int
	Replies, Messages                int
}

// Months counts letters (by the channel they ended on; letters still on their way count
// as digital once delivered) and notices sent, for the months since from.
func (s *Stats) Months(ctx context.Context, from time.Time) ([]Month, error) {
	rows, err := s.db.Query(ctx, `
		WITH l AS (
			SELECT date_trunc('month', created_at AT TIME ZONE 'Europe/Copenhagen') AS m,
				count(*) FILTER (WHERE channel = 'digital') AS digital,
				count(*) FILTER (WHERE channel = 'paper') AS paper,
				count(*) FILTER (WHERE channel = $2) AS both
			FROM letters WHERE created_at >= $1 GROUP BY 1),
		n AS (
			SELECT date_trunc('month', created_at AT TIME ZONE 'Europe/Copenhagen') AS m,
				count(*) FILTER (WHERE channel = 'sms') AS sms, count(*) FILTER (WHERE channel = 'email') AS email
			FROM notifications WHERE state = 'sent' AND created_at >= $1 GROUP BY 1),
		c AS (
			SELECT date_trunc('month', created_at AT TIME ZONE 'Europe/Copenhagen') AS m,
				count(letter_id) AS replies, count(*) - count(letter_id) AS messages
			FROM citizen_messages WHERE created_at >= $1 GROUP BY 1),
		months AS (SELECT m FROM l UNION SELECT m FROM n UNION SELECT m FROM c)
		SELECT months.m, coalesce(l.digital, 0), coalesce(l.paper, 0), coalesce(l.both, 0),
			coalesce(n.sms, 0), coalesce(n.email, 0), coalesce(c.replies, 0), coalesce(c.messages, 0)
		FROM months LEFT JOIN l USING (m) LEFT JOIN n USING (m) LEFT JOIN c USING (m) ORDER BY 1`, from, string(letters.DigitalThenPaper))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Month, error) {
		var m Month
		err := r.Scan(&m.Month, &m.Digital, &m.Paper, &m.DigitalThenPaper, &m.SMS, &m.Email, &m.Replies, &m.Messages)
		return m, err
	})
}

// Count is a number of letters under a label (a status or a channel).
type Count struct {
	Label string
	N     int
}

// Bucket is a range of time from delivery to opening and how many openings fell in it.
type Bucket struct {
	Label string
	Upto  time.Duration // 0 for the last, open-ended bucket
	N     int
}

// OpeningBuckets are the histogram's ranges: hours matter on the first day, days after.
var OpeningBuckets = []Bucket{
	{Label: "under 1 time", Upto: time.Hour}, {Label: "1–6 timer", Upto: 6 * time.Hour},
	{Label: "6–24 timer", Upto: 24 * time.Hour}, {Label: "1–3 døgn", Upto: 72 * time.Hour},
	{Label: "over 3 døgn"},
}

// Sender is what a sender's dashboard shows of their letters.
type Sender struct {
	Letters   int
	ByStatus  []Count
	ByChannel []Count
	// Delivered counts letters that reached a mailbox; Opened those of them opened there.
	Delivered, Opened int
	// OnPaper counts letters that ended on paper (at once or after the deadline), of Finished.
	OnPaper, Finished int
	Opening           []Bucket
	// Replies and Messages count what citizens sent the sender; Unhandled those not marked handled.
	Replies, Messages, Unhandled int
}

// OpenRate is the share of delivered letters opened in the mailbox.
func (s Sender) OpenRate() float64 { return ratio(s.Opened, s.Delivered) }

// PaperShare is the share of finished letters that ended on paper.
func (s Sender) PaperShare() float64 { return ratio(s.OnPaper, s.Finished) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ForSender counts one sender's letters.
func (s *Stats) ForSender(ctx context.Context, sender string) (Sender, error) {
	var out Sender
	counts := func(column string) ([]Count, error) {
		rows, err := s.db.Query(ctx, `SELECT `+column+`, count(*) FROM letters WHERE sender_id = $1 GROUP BY 1 ORDER BY 2 DESC, 1`, sender)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Count, error) {
			var c Count
			err := r.Scan(&c.Label, &c.N)
			return c, err
		})
	}
	var err error
	if out.ByStatus, err = counts("status"); err != nil {
		return out, err
	}
	if out.ByChannel, err = counts("coalesce(nullif(channel, ''), 'undecided')"); err != nil {
		return out, err
	}
	for _, c := range out.ByStatus {
		out.Letters += c.N
		if letters.Status(c.Label).Final() {
			out.Finished += c.N
		}
	}
	for _, c := range out.ByChannel {
		if c.Label == string(letters.Paper) || c.Label == string(letters.DigitalThenPaper) {
			out.OnPaper += c.N
		}
	}
	err = s.db.QueryRow(ctx, `SELECT count(*), count(m.opened_at) FROM mailbox_entries m JOIN letters l ON l.id = m.letter_id
		WHERE l.sender_id = $1`, sender).Scan(&out.Delivered, &out.Opened)
	if err != nil {
		return out, err
	}
	err = s.db.QueryRow(ctx, `SELECT count(letter_id), count(*) - count(letter_id), count(*) FILTER (WHERE handled_at IS NULL)
		FROM citizen_messages WHERE sender_id = $1`, sender).Scan(&out.Replies, &out.Messages, &out.Unhandled)
	if err != nil {
		return out, err
	}
	out.Opening = append([]Bucket(nil), OpeningBuckets...)
	return out, s.histogram(ctx, sender, out.Opening)
}

// histogram fills the buckets in PostgreSQL: one row per bucket, not one per opening.
func (s *Stats) histogram(ctx context.Context, sender string, buckets []Bucket) error {
	bounds := make([]float64, 0, len(buckets)-1)
	for _, b := range buckets[:len(buckets)-1] {
		bounds = append(bounds, b.Upto.Seconds())
	}
	rows, err := s.db.Query(ctx, `SELECT width_bucket(extract(epoch FROM m.opened_at - m.delivered_at)::float8, $2::float8[]), count(*)
		FROM mailbox_entries m JOIN letters l ON l.id = m.letter_id
		WHERE l.sender_id = $1 AND m.opened_at IS NOT NULL GROUP BY 1`, sender, bounds)
	if err != nil {
		return err
	}
	var i, n int
	_, err = pgx.ForEachRow(rows, []any{&i, &n}, func() error {
		buckets[min(i, len(buckets)-1)].N += n
		return nil
	})
	return err
}
