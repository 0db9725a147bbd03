package borgerservice

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/nemsms"
	"digitalpost/internal/domain/registry"
)

// Citizen looks a citizen up by CPR number, naming the field when it is malformed or unknown.
func (d *Desk) Citizen(ctx context.Context, citizenCPR string) (registry.Citizen, error) {
	var errs fielderr.List
	c, _ := d.citizen(ctx, &errs, "cpr", citizenCPR)
	return c, errs.Err()
}

// UpdateContact changes a citizen's e-mail, mobile number or postal address, with the rules
// of registration; nil leaves a detail as it is and "" removes it.
func (d *Desk) UpdateContact(ctx context.Context, citizenCPR string, ch registry.ContactChange) (registry.Citizen, error) {
	return d.change(ctx, citizenCPR, func(id uuid.UUID) (registry.Citizen, error) { return d.Registry.UpdateContact(ctx, id, ch) })
}

// change looks the citizen up by CPR number, naming the field when it is malformed or
// unknown, and applies a registry change to them.
func (d *Desk) change(ctx context.Context, citizenCPR string, apply func(uuid.UUID) (registry.Citizen, error)) (registry.Citizen, error) {
	var errs fielderr.List
	c, ok := d.citizen(ctx, &errs, "cpr", citizenCPR)
	if !ok {
		return c, errs.Err()
	}
	return apply(c.ID)
}

// ParseEventDate reads the date of a life event, YYYY-MM-DD.
func ParseEventDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil // the registry names the missing date
	}
	on, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return on, &fielderr.Error{Field: "on", Rule: "must be a date YYYY-MM-DD"}
	}
	return on, nil
}

// RecordDeath records a citizen's death from the CPR register: letters to them are refused
// from now on, letters under way end failed unprinted, and the reading access they gave or
// held ends. Their mailbox is kept for registry.MailboxRetentionYears.
func (d *Desk) RecordDeath(ctx context.Context, citizenCPR string, on time.Time) (registry.Citizen, error) {
	var errs fielderr.List
	c, ok := d.citizen(ctx, &errs, "cpr", citizenCPR)
	if !ok {
		return c, errs.Err()
	}
	recorded, err := d.Registry.RecordDeath(ctx, c.ID, on)
	if err != nil {
		if c.Deceased() {
			// Recorded before, perhaps by a run whose suspension of reading access failed half
			// way: suspending again completes it.
			if suspendErr := d.Access.SuspendAll(ctx, d.Temporal, c.ID); suspendErr != nil {
				return recorded, suspendErr
			}
		}
		return recorded, err
	}
	return recorded, d.Access.SuspendAll(ctx, d.Temporal, c.ID)
}

// RecordEmigration records that a citizen moved abroad: they keep digital post; paper to them
// goes to foreignAddress, and with none known a letter that must go on paper is refused.
func (d *Desk) RecordEmigration(ctx context.Context, citizenCPR string, on time.Time, foreignAddress string) (registry.Citizen, error) {
	return d.change(ctx, citizenCPR, func(id uuid.UUID) (registry.Citizen, error) {
		return d.Registry.RecordEmigration(ctx, id, on, foreignAddress)
	})
}

// RecordMoveIn records that an emigrated citizen moved back to Denmark, to address. Moving back
// changes nothing for an enrolled citizen, and ends an exemption granted only on the ground of
// emigration: the citizen is enrolled again, and their next letters are digital.
func (d *Desk) RecordMoveIn(ctx context.Context, citizenCPR string, on time.Time, address string) (registry.Citizen, error) {
	return d.change(ctx, citizenCPR, func(id uuid.UUID) (registry.Citizen, error) {
		c, err := d.Registry.RecordMoveIn(ctx, id, on, address)
		if err != nil || c.Enrolment != registry.Exempt {
			return c, err
		}
		exempted, found, err := d.Cases.LatestApproved(ctx, id)
		if err != nil || !found || !exempted.OnlyEmigration() {
			return c, err
		}
		if err := d.Registry.Enrol(ctx, id); err != nil {
			return c, err
		}
		return d.Registry.Citizen(ctx, id)
	})
}

// SubscribeNemSMS signs a citizen up for NemSMS once they accept its current terms; the
// number is the one given or their Digital Post mobile. Exempt citizens may subscribe.
func (d *Desk) SubscribeNemSMS(ctx context.Context, citizenCPR, acceptedTerms, mobile string) (nemsms.Subscription, error) {
	var errs fielderr.List
	c, ok := d.citizen(ctx, &errs, "cpr", citizenCPR)
	if !ok {
		return nemsms.Subscription{}, errs.Err()
	}
	return d.NemSMS.Subscribe(ctx, c, acceptedTerms, mobile)
}

// UnsubscribeNemSMS ends a citizen's NemSMS subscription.
func (d *Desk) UnsubscribeNemSMS(ctx context.Context, citizenCPR string) error {
	var errs fielderr.List
	c, ok := d.citizen(ctx, &errs, "cpr", citizenCPR)
	if !ok {
		return errs.Err()
	}
	if err := d.NemSMS.Unsubscribe(ctx, c.ID); errors.Is(err, nemsms.ErrNotSubscribed) {
		return &fielderr.Error{Field: "cpr", Rule: err.Error()}
	} else if err != nil {
		return err
	}
	return nil
}
