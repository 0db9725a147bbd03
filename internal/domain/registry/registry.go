// Package registry keeps citizens (CPR, address, enrolment, contact details) and
// senders (the organisations that send letters) in PostgreSQL.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/cpr"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/infra/store"
)

// Enrolment is how a citizen takes part in Digital Post.
type Enrolment string

const (
	Enrolled     Enrolment = "enrolled"      // self-enrolled
	AutoEnrolled Enrolment = "auto_enrolled" // enrolled by law at 15
	Exempt       Enrolment = "exempt"        // letters go to paper (rule 2, 12)
)

// ErrNotFound is returned when a citizen or sender is not in the registry.
var ErrNotFound = errors.New("not in the registry")

// Citizen is one person in the registry. ID is the internal key other tables use,
// so the CPR number lives only here.
type Citizen struct {
	ID                    uuid.UUID
	CPR                   cpr.Number
	Name                  string
	BirthDate             time.Time
	Address               string // postal address, lines separated by "\n"
	Enrolment             Enrolment
	ExemptFromSelfService bool
	LastLoginAt           *time.Time
	Email                 string
	Mobile                string
	NemSMSOptIn           bool
	// Life events from the CPR register. A deceased citizen receives no more letters; an
	// emigrated one keeps digital post, and paper to them goes to ForeignAddress (none when
	// it is unknown).
	DiedOn         *time.Time
	EmigratedOn    *time.Time
	ForeignAddress string
}

// HasLoggedIn tells whether the citizen ever used their mailbox.
func (c Citizen) HasLoggedIn() bool { return c.LastLoginAt != nil }

// NewCitizen is what a registration needs.
type NewCitizen struct {
	CPR           string
	Name          string
	BirthDate     string // YYYY-MM-DD; empty takes it from the CPR number
	Address       string
	Email         string
	Mobile        string
	Exempt        bool
	NeverLoggedIn bool
}

// Sender is an organisation that sends letters.
type Sender struct {
	ID            string
	Organisation  string
	ProducingUnit string
	ReturnAddress string
	// Replies is what the sender's letters say about answers when a letter does not.
	Replies ReplyDefaults
}

// ReplyDefaults are a sender's defaults for letters that do not say whether they may be
// answered: whether they may, to which contact point, and for how long after submission.
type ReplyDefaults struct {
	Allowed      bool
	ContactPoint string
	Within       time.Duration // 0: for as long as the letter is in the mailbox
}

// Registry reads and writes citizens and senders.
type Registry struct{ db *pgxpool.Pool }

// DigitalAge is the age from which a citizen receives letters digitally.
const DigitalAge = 15

func New(db *pgxpool.Pool) *Registry { return &Registry{db: db} }

// AddCitizen validates and stores a citizen. A CPR number already registered is an error.
func (r *Registry) AddCitizen(ctx context.Context, in NewCitizen) (Citizen, error) {
	var errs fielderr.List
	number, err := cpr.Parse(in.CPR)
	if err != nil {
		errs.Add("cpr", err.Error())
	} else if number.BirthDate().After(time.Now()) {
		errs.Add("cpr", "gives a birth date in the future (the seventh digit sets the century)")
		number = ""
	}
	if strings.TrimSpace(in.Name) == "" {
		errs.Add("name", "must not be empty")
	} else {
		errs.CheckText("name", in.Name)
	}
	errs.CheckText("address", in.Address)
	var birth time.Time
	if in.BirthDate != "" {
		birth, err = time.Parse(time.DateOnly, in.BirthDate)
		if err != nil {
			errs.Add("birth-date", "must be a date YYYY-MM-DD")
		} else if number != "" && !birth.Equal(number.BirthDate()) {
			errs.Add("birth-date", "must match the birth date in the CPR number")
		}
	} else if number != "" {
		birth = number.BirthDate()
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		errs.Add("email", err.Error())
	}
	mobile, err := NormalizeMobile(in.Mobile)
	if err != nil {
		errs.Add("mobile", err.Error())
	}
	if err := errs.Err(); err != nil {
		return Citizen{}, err
	}
	c := Citizen{
		ID: uuid.New(), CPR: number, Name: strings.TrimSpace(in.Name), BirthDate: birth,
		Address: strings.TrimSpace(in.Address), Enrolment: AutoEnrolled, Email: email, Mobile: mobile,
	}
	if in.Exempt {
		c.Enrolment = Exempt
	}
	// A child cannot have used a mailbox it gets only at 15: counting it as logged in would
	// withhold the paper notice that comes with its first digital letter (rule 5).
	child := cpr.AgeOn(birth, calendar.In(time.Now())) < DigitalAge
	if !in.NeverLoggedIn && !in.Exempt && !child {
		now := time.Now().UTC()
		c.LastLoginAt = &now
		c.Enrolment = Enrolled
	}
	_, err = r.db.Exec(ctx, `
		INSERT INTO citizens (id, cpr, name, birth_date, address, enrolment, exempt_from_self_service, last_login_at, email, mobile)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.CPR.Digits(), c.Name, c.BirthDate, c.Address, c.Enrolment, c.Enrolment == Exempt, c.LastLoginAt, c.Email, c.Mobile)
	if store.IsUniqueViolation(err) {
		return Citizen{}, &fielderr.Error{Field: "cpr", Rule: "is already registered"}
	}
	return c, err
}

// NormalizeMobile accepts a number in E.164 form (+<country code><number>, spaces allowed)
// or eight Danish digits, and returns E.164 ("+4512345678"). Empty stays empty: the citizen
// gave no number. A number that cannot receive SMS is refused at registration, where the
// citizen can still correct it, instead of failing every notice later:
//   - E.164: a + and 8–15 digits, the first (the country code's) not 0;
//   - Danish numbers (+45) have exactly eight digits;
//   - and are not service numbers: 70 (shared cost), 80 (freephone) and 90 (premium rate)
//     numbers cannot receive SMS, nor can anything starting with 0 or 1 (1 is for short
//     codes such as 112; no Danish subscriber number starts with 0 or 1).
//
// Other Danish numbers are accepted: the numbering plan no longer tells mobile from fixed
// lines reliably, and a provider's rejection of a number is a permanent error for the notice.
func NormalizeMobile(s string) (string, error) {
	s = strings.Join(strings.Fields(s), "")
	if s == "" {
		return "", nil
	}
	if len(s) == 8 && allDigits(s) {
		s = "+45" + s
	}
	digits, international := strings.CutPrefix(s, "+")
	if !international || !allDigits(digits) || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", errors.New("must be +<country code><number> (a + and 8 to 15 digits) or eight Danish digits")
	}
	national, danish := strings.CutPrefix(digits, "45")
	if !danish {
		return s, nil
	}
	switch {
	case len(national) != 8:
		return "", errors.New("a Danish number (+45) has exactly eight digits")
	case national[0] == '0' || national[0] == '1':
		return "", errors.New("a Danish number starting with 0 or 1 is not a subscriber number (1 is for short codes such as 112) and cannot receive SMS")
	case strings.HasPrefix(national, "70"), strings.HasPrefix(national, "80"), strings.HasPrefix(national, "90"):
		return "", errors.New("a Danish number starting with 70, 80 or 90 is a service number (shared cost, freephone, premium rate) and cannot receive SMS")
	}
	return s, nil
}

// Limits of an e-mail address (RFC 5321): what is longer no mail server takes.
const (
	MaxEmailBytes     = 254
	MaxEmailLocalPart = 64
)

// NormalizeEmail accepts an address alone, like name@example.dk, and returns it trimmed;
// empty stays empty: the citizen gave no address. net/mail parses it; on top of that, an
// address with a display name or angle brackets is refused (notices need the address, not
// a header), as are control characters, more than 254 bytes (64 before the @), and a domain
// without a dot (name@localhost is not somewhere a notice can go).
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if rule := fielderr.TextRule(s); rule != "" {
		return "", errors.New(rule)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "", errors.New("must not contain control characters")
	}
	if len(s) > MaxEmailBytes {
		return "", fmt.Errorf("must be at most %d bytes long, the limit of an e-mail address", MaxEmailBytes)
	}
	a, err := mail.ParseAddress(s)
	switch {
	case err != nil:
		return "", errors.New("must be an e-mail address like name@example.dk")
	case a.Name != "":
		return "", errors.New("must be the address alone, without a display name: name@example.dk, not Name <name@example.dk>")
	case a.Address != s:
		return "", errors.New("must be the address alone, like name@example.dk (no angle brackets or comments)")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	switch {
	case len(local) > MaxEmailLocalPart:
		return "", fmt.Errorf("must have at most %d bytes before the @", MaxEmailLocalPart)
	case strings.HasPrefix(domain, "["):
		return "", errors.New("must have a domain name after the @, not an IP address")
	case !strings.Contains(domain, "."): // net/mail has refused empty labels (a@.dk, a@dk.) already
		return "", errors.New("must have a domain with a dot after the @, like example.dk")
	}
	return s, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

const citizenColumns = `id, cpr, name, birth_date, address, enrolment, exempt_from_self_service, last_login_at, email, mobile, nemsms_opt_in,
	died_on, emigrated_on, foreign_address`

func scanCitizen(row pgx.Row) (Citizen, error) {
	c, err := scanCitizenRow(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Citizen{}, ErrNotFound
	}
	return c, err
}

// scanCitizenRow reads citizenColumns; a missing row stays pgx.ErrNoRows.
func scanCitizenRow(row pgx.Row) (Citizen, error) {
	var c Citizen
	var number string
	err := row.Scan(&c.ID, &number, &c.Name, &c.BirthDate, &c.Address, &c.Enrolment, &c.ExemptFromSelfService,
		&c.LastLoginAt, &c.Email, &c.Mobile, &c.NemSMSOptIn, &c.DiedOn, &c.EmigratedOn, &c.ForeignAddress)
	if err != nil {
		return Citizen{}, err
	}
	c.CPR = cpr.Number(number)
	return c, nil
}

// Citizen looks a citizen up by internal id.
func (r *Registry) Citizen(ctx context.Context, id uuid.UUID) (Citizen, error) {
	return scanCitizen(r.db.QueryRow(ctx, `SELECT `+citizenColumns+` FROM citizens WHERE id = $1`, id))
}

// Lookups for store.LookupAll, so a caller asks several registry questions in one round trip.

// citizenByCPRLookup finds the citizen with this CPR number; found says whether there is one.
func citizenByCPRLookup(n cpr.Number, c *Citizen, found *bool) store.Lookup {
	return store.Lookup{SQL: `SELECT ` + citizenColumns + ` FROM citizens WHERE cpr = $1`, Args: []any{n.Digits()},
		Scan: store.Found(found, func(row pgx.Row) (err error) { *c, err = scanCitizenRow(row); return err })}
}

// RecipientLookup finds the recipient of a letter; found is false when the letter has none
// (the citizen was deleted from the registry) or does not exist.
func RecipientLookup(letter uuid.UUID, c *Citizen, found *bool) store.Lookup {
	return store.Lookup{SQL: `SELECT ` + citizenColumns + ` FROM citizens WHERE id = (SELECT recipient_id FROM letters WHERE id = $1)`,
		Args: []any{letter}, Scan: store.Found(found, func(row pgx.Row) (err error) { *c, err = scanCitizenRow(row); return err })}
}

// SenderOfLetterLookup finds the sender of a letter.
func SenderOfLetterLookup(letter uuid.UUID, s *Sender, found *bool) store.Lookup {
	return sendersLookup(`(SELECT sender_id FROM letters WHERE id = $1)`, letter, s, found)
}

// senderLookup finds a registered sender; found says whether it is registered.
func senderLookup(id string, s *Sender, found *bool) store.Lookup {
	return sendersLookup(`$1`, id, s, found)
}

// sendersLookup reads the sender whose id the SQL expression which (over arg) gives.
func sendersLookup(which string, arg any, s *Sender, found *bool) store.Lookup {
	return store.Lookup{SQL: `SELECT ` + senderColumns + ` FROM senders WHERE id = ` + which, Args: []any{arg},
		Scan: store.Found(found, func(row pgx.Row) error { return scanSender(row, s) })}
}

const senderColumns = `id, organisation, producing_unit, return_address, replies_by_default, reply_contact_point, reply_within_seconds`

func scanSender(row pgx.Row, s *Sender) error {
	var within int64
	err := row.Scan(&s.ID, &s.Organisation, &s.ProducingUnit, &s.ReturnAddress, &s.Replies.Allowed, &s.Replies.ContactPoint, &within)
	s.Replies.Within = time.Duration(within) * time.Second
	return err
}

// SenderAndRecipient answers a submission's two registry questions in one round trip: who
// is the sender (found or not), and who has this CPR number.
func (r *Registry) SenderAndRecipient(ctx context.Context, senderID string, n cpr.Number) (s Sender, senderFound bool, c Citizen, citizenFound bool, err error) {
	err = store.LookupAll(ctx, r.db, senderLookup(senderID, &s, &senderFound), citizenByCPRLookup(n, &c, &citizenFound))
	return s, senderFound, c, citizenFound, err
}

// SetReplyDefaults records what the sender's letters say about answers when a letter does
// not. The contact point is the caller's to check (citizenpost.ContactPoints).
func (r *Registry) SetReplyDefaults(ctx context.Context, senderID string, d ReplyDefaults) error {
	if d.Within < 0 || d.Within%time.Second != 0 {
		return &fielderr.Error{Field: "within", Rule: "must be whole seconds, zero or more"}
	}
	tag, err := r.db.Exec(ctx, `UPDATE senders SET replies_by_default = $2, reply_contact_point = $3, reply_within_seconds = $4 WHERE id = $1`,
		senderID, d.Allowed, d.ContactPoint, int64(d.Within/time.Second))
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("sender %q: %w", senderID, ErrNotFound)
	}
	return err
}

// CitizenByCPR looks a citizen up by CPR number.
func (r *Registry) CitizenByCPR(ctx context.Context, n cpr.Number) (Citizen, error) {
	return scanCitizen(r.db.QueryRow(ctx, `SELECT `+citizenColumns+` FROM citizens WHERE cpr = $1`, n.Digits()))
}

// DeleteCitizen removes a citizen who has no post in their mailbox (registered by mistake,
// say). Someone who died or emigrated is not deleted but recorded (RecordDeath,
// RecordEmigration): their mailbox is kept for MailboxRetentionYears, and PurgeDeceased removes it.
func (r *Registry) DeleteCitizen(ctx context.Context, id uuid.UUID) error {
	tag, err := r.db.Exec(ctx, `DELETE FROM citizens WHERE id = $1`, id)
	if store.IsForeignKeyViolation(err) {
		return ErrHasPost
	}
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// ErrHasPost: a citizen with letters in their mailbox is never deleted with them.
var ErrHasPost = errors.New("citizen has letters in their mailbox, which are kept; record a death or emigration instead")

// RecordLogin notes that the citizen used the mailbox, so no more "digital post is waiting" notices.
func (r *Registry) RecordLogin(ctx context.Context, id uuid.UUID, at time.Time) error {
	_, err := r.db.Exec(ctx, `UPDATE citizens SET last_login_at = $2, updated_at = now() WHERE id = $1`, id, at)
	return err
}

// ClaimWaitingNotice reports whether this letter is the one that must carry the paper notice
// "digital post is waiting" (rule 5): true for the first letter to claim it, and again for the
// same letter when a retried activity asks twice.
func (r *Registry) ClaimWaitingNotice(ctx context.Context, citizen, letter uuid.UUID) (bool, error) {
	var claimed uuid.UUID
	err := r.db.QueryRow(ctx, `
		UPDATE citizens SET waiting_notice_letter_id = $2
		WHERE id = $1 AND last_login_at IS NULL AND (waiting_notice_letter_id IS NULL OR waiting_notice_letter_id = $2)
		RETURNING waiting_notice_letter_id`, citizen, letter).Scan(&claimed)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ReleaseWaitingNotice gives back the waiting-notice claim of a letter withdrawn before its
// notice was printed, so the citizen's next letter brings the notice instead. A notice
// already printed keeps its claim: the citizen has it.
func (r *Registry) ReleaseWaitingNotice(ctx context.Context, letter uuid.UUID) error {
	_, err := r.db.Exec(ctx, `UPDATE citizens SET waiting_notice_letter_id = NULL
		WHERE waiting_notice_letter_id = $1
		  AND NOT EXISTS (SELECT 1 FROM print_jobs WHERE letter_id = $1 AND purpose = 'waiting-notice')`, letter)
	return err
}

// AddSender registers or updates an organisation that sends letters.
func (r *Registry) AddSender(ctx context.Context, s Sender) error {
	var errs fielderr.List
	if !validSenderID(s.ID) {
		errs.Add("sender", "id must be 1–64 lower-case letters, digits or dashes")
	}
	if strings.TrimSpace(s.Organisation) == "" {
		errs.Add("organisation", "must not be empty")
	} else {
		errs.CheckText("organisation", s.Organisation)
	}
	errs.CheckText("unit", s.ProducingUnit)
	errs.CheckText("return-address", s.ReturnAddress)
	if err := errs.Err(); err != nil {
		return err
	}
	_, err := r.db.Exec(ctx, `
		INSERT INTO senders (id, organisation, producing_unit, return_address) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET organisation = $2, producing_unit = $3, return_address = $4`,
		s.ID, s.Organisation, s.ProducingUnit, s.ReturnAddress)
	return err
}

func validSenderID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Sender looks a sender up by id.
func (r *Registry) Sender(ctx context.Context, id string) (Sender, error) {
	var s Sender
	err := scanSender(r.db.QueryRow(ctx, `SELECT `+senderColumns+` FROM senders WHERE id = $1`, id), &s)
	if errors.Is(err, pgx.ErrNoRows) {
		return Sender{}, fmt.Errorf("sender %q: %w", id, ErrNotFound)
	}
	return s, err
}

// SetExempt records an approved exemption (rule 12): from now on letters go to paper, and
// the citizen is also exempt from mandatory digital self-service.
func (r *Registry) SetExempt(ctx context.Context, id uuid.UUID, at time.Time) error {
	tag, err := r.db.Exec(ctx, `UPDATE citizens SET enrolment = 'exempt', exempt_from_self_service = true,
		exempt_since = coalesce(exempt_since, $2), updated_at = now() WHERE id = $1`, id, at)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// ErrNotExempt: re-enrolment is for exempt citizens.
var ErrNotExempt = errors.New("citizen is not exempt: already enrolled in Digital Post")

// Enrol re-enrolls an exempt citizen (rule 14): later letters are digital again.
func (r *Registry) Enrol(ctx context.Context, id uuid.UUID) error {
	tag, err := r.db.Exec(ctx, `UPDATE citizens SET enrolment = 'enrolled', exempt_from_self_service = false,
		exempt_since = NULL, updated_at = now() WHERE id = $1 AND enrolment = 'exempt'`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		if _, err := r.Citizen(ctx, id); err != nil {
			return err
		}
		return ErrNotExempt
	}
	return nil
}

// CitizensByCPR reads the citizens with these CPR numbers in one query; unknown numbers
// are left out.
func (r *Registry) CitizensByCPR(ctx context.Context, numbers []cpr.Number) (map[cpr.Number]Citizen, error) {
	digits := make([]string, len(numbers))
	for i, n := range numbers {
		digits[i] = n.Digits()
	}
	rows, err := r.db.Query(ctx, `SELECT `+citizenColumns+` FROM citizens WHERE cpr = ANY($1)`, digits)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[cpr.Number]Citizen, len(numbers))
	for rows.Next() {
		c, err := scanCitizen(rows)
		if err != nil {
			return nil, err
		}
		out[c.CPR] = c
	}
	return out, rows.Err()
}

// FirstCitizens lists the citizens registered first (for the development sign-in page,
// where the demo citizens come first).
func (r *Registry) FirstCitizens(ctx context.Context, n int) ([]Citizen, error) {
	rows, err := r.db.Query(ctx, `SELECT `+citizenColumns+` FROM citizens ORDER BY created_at, id LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Citizen, error) { return scanCitizen(row) })
}
