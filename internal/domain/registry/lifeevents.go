package registry

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/domain/calendar"
	"digitalpost/internal/domain/fielderr"
)

// MailboxRetentionYears is how long a deceased citizen's mailbox is kept after the death, for
// the estate and for the authorities' records: five years, as the Danish Bookkeeping Act
// keeps records. PurgeDeceased removes what is older. An emigrated citizen is never purged:
// they keep their CPR number and their mailbox and may move back.
const MailboxRetentionYears = 5

// KeptUntil is the day a deceased citizen's mailbox may be purged.
func (c Citizen) KeptUntil() time.Time { return c.DiedOn.AddDate(MailboxRetentionYears, 0, 0) }

// Deceased tells whether the CPR register has recorded the citizen's death.
func (c Citizen) Deceased() bool { return c.DiedOn != nil }

// Emigrated tells whether the citizen lives abroad.
func (c Citizen) Emigrated() bool { return c.EmigratedOn != nil }

// PostalAddress is where paper goes: the foreign address while the citizen lives abroad.
func (c Citizen) PostalAddress() string {
	if c.Emigrated() {
		return c.ForeignAddress
	}
	return c.Address
}

// ContactChange holds the contact details to change; nil leaves one as it is, and an empty
// string removes it.
type ContactChange struct {
	Email   *string
	Mobile  *string
	Address *string
}

// UpdateContact changes a citizen's e-mail, mobile number or postal address with the rules
// of registration. Later notices and paper letters use the new details.
func (r *Registry) UpdateContact(ctx context.Context, id uuid.UUID, ch ContactChange) (Citizen, error) {
	c, err := r.Citizen(ctx, id)
	if err != nil {
		return c, err
	}
	var errs fielderr.List
	if ch.Email == nil && ch.Mobile == nil && ch.Address == nil {
		errs.Add("email", "give at least one of --email, --mobile or --address")
	}
	if ch.Email != nil {
		if c.Email, err = NormalizeEmail(*ch.Email); err != nil {
			errs.Add("email", err.Error())
		}
	}
	if ch.Mobile != nil {
		if c.Mobile, err = NormalizeMobile(*ch.Mobile); err != nil {
			errs.Add("mobile", err.Error())
		}
	}
	if ch.Address != nil {
		errs.CheckText("address", *ch.Address)
		c.Address = strings.TrimSpace(*ch.Address)
	}
	if c.Deceased() {
		errs.Add("cpr", "citizen is recorded as deceased; their details are kept as they were")
	}
	if err := errs.Err(); err != nil {
		return Citizen{}, err
	}
	_, err = r.db.Exec(ctx, `UPDATE citizens SET email = $2, mobile = $3, address = $4, updated_at = now() WHERE id = $1`,
		c.ID, c.Email, c.Mobile, c.Address)
	return c, err
}

// eventDate checks the date of a life event: a day that has come, not before the birth.
func eventDate(errs *fielderr.List, c Citizen, on time.Time) {
	today := calendar.In(time.Now())
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case on.IsZero():
		errs.Add("on", "is required: the date of the event, YYYY-MM-DD")
	case on.After(day):
		errs.Add("on", "must not be in the future")
	case on.Before(c.BirthDate):
		errs.Add("on", "must not be before the citizen's birth date "+c.BirthDate.Format(time.DateOnly))
	}
}

// RecordDeath records that the citizen died on the given day. Letters to them are refused
// from now on, and letters under way end failed without being printed; the mailbox stays.
func (r *Registry) RecordDeath(ctx context.Context, id uuid.UUID, on time.Time) (Citizen, error) {
	c, err := r.Citizen(ctx, id)
	if err != nil {
		return c, err
	}
	var errs fielderr.List
	eventDate(&errs, c, on)
	if c.Deceased() {
		errs.Add("cpr", "citizen is already recorded as deceased on "+c.DiedOn.Format(time.DateOnly))
	}
	if err := errs.Err(); err != nil {
		return Citizen{}, err
	}
	c.DiedOn = &on
	_, err = r.db.Exec(ctx, `UPDATE citizens SET died_on = $2, updated_at = now() WHERE id = $1`, id, on)
	return c, err
}

// RecordEmigration records that the citizen moved abroad, with the foreign address paper goes
// to (empty when unknown: then letters to them are refused). Recording it again updates the
// address, as when an emigrant moves on to another country.
func (r *Registry) RecordEmigration(ctx context.Context, id uuid.UUID, on time.Time, foreignAddress string) (Citizen, error) {
	c, err := r.Citizen(ctx, id)
	if err != nil {
		return c, err
	}
	var errs fielderr.List
	eventDate(&errs, c, on)
	errs.CheckText("address", foreignAddress)
	if c.Deceased() {
		errs.Add("cpr", "citizen is recorded as deceased on "+c.DiedOn.Format(time.DateOnly))
	}
	if err := errs.Err(); err != nil {
		return Citizen{}, err
	}
	c.EmigratedOn, c.ForeignAddress = &on, strings.TrimSpace(foreignAddress)
	_, err = r.db.Exec(ctx, `UPDATE citizens SET emigrated_on = $2, foreign_address = $3, updated_at = now() WHERE id = $1`,
		id, on, c.ForeignAddress)
	return c, err
}

// RecordMoveIn records that an emigrated citizen moved back to Denmark, to the given
// address: letters follow the ordinary rules again.
func (r *Registry) RecordMoveIn(ctx context.Context, id uuid.UUID, on time.Time, address string) (Citizen, error) {
	c, err := r.Citizen(ctx, id)
	if err != nil {
		return c, err
	}
	var errs fielderr.List
	eventDate(&errs, c, on)
	switch {
	case c.Deceased():
		errs.Add("cpr", "citizen is recorded as deceased on "+c.DiedOn.Format(time.DateOnly))
	case !c.Emigrated():
		errs.Add("cpr", "citizen lives in Denmark; moved-in is for a citizen who emigrated (change an address with `citizen update --address`)")
	case on.Before(*c.EmigratedOn):
		errs.Add("on", "must not be before the emigration on "+c.EmigratedOn.Format(time.DateOnly))
	}
	if strings.TrimSpace(address) == "" {
		errs.Add("address", "is required: the Danish address the citizen moved to")
	} else {
		errs.CheckText("address", address)
	}
	if err := errs.Err(); err != nil {
		return Citizen{}, err
	}
	c.EmigratedOn, c.ForeignAddress, c.Address = nil, "", strings.TrimSpace(address)
	_, err = r.db.Exec(ctx, `UPDATE citizens SET emigrated_on = NULL, foreign_address = '', address = $2, updated_at = now() WHERE id = $1`,
		id, c.Address)
	return c, err
}

// PurgeDeceased removes citizens who died before the cutoff, with their mailboxes, reading
// access and cases; their letters keep their rows without a recipient. It returns how many.
func (r *Registry) PurgeDeceased(ctx context.Context, diedBefore time.Time) (int64, error) {
	tx, err := r.db.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `DELETE FROM mailbox_entries m USING citizens c
		WHERE m.citizen_id = c.id AND c.died_on < $1`, diedBefore); err != nil {
		return 0, fmt.Errorf("purge mailboxes: %w", err)
	}
	tag, err := tx.Exec(ctx, `DELETE FROM citizens WHERE died_on < $1`, diedBefore)
	if err != nil {
		return 0, fmt.Errorf("purge citizens: %w", err)
	}
	return tag.RowsAffected(), tx.Commit(ctx)
}
