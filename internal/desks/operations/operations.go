// Package operations is the operators' desk: the registry's administration (citizens as the
// population register feeds them, senders and their API keys, the purge of deceased citizens'
// mailboxes), the notices that need an operator, and the dev runtime's outbox and generated
// population. The command line's operator commands call it; no sender, citizen or caseworker
// reaches it.
package operations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/domain/apikeys"
	"digitalpost/internal/domain/citizenpost"
	"digitalpost/internal/domain/fielderr"
	"digitalpost/internal/domain/population"
	"digitalpost/internal/domain/registry"
)

// Desk holds what the operators need.
type Desk struct {
	Registry *registry.Registry
	Keys     *apikeys.Keys
	Notices  *notify.Service
	Post     *citizenpost.Store // senders' contact points
	db       *pgxpool.Pool      // the dev runtime's tools only: the outbox and the generated population
}

// New is the operators' desk on the engine's stores and pool.
func New(reg *registry.Registry, keys *apikeys.Keys, notices *notify.Service, post *citizenpost.Store, db *pgxpool.Pool) *Desk {
	return &Desk{Registry: reg, Keys: keys, Notices: notices, Post: post, db: db}
}

// AddContactPoint adds or renames one of a sender's contact points: where replies to its
// letters go and, when open to citizens, where a citizen may write first.
func (d *Desk) AddContactPoint(ctx context.Context, cp citizenpost.ContactPoint) error {
	return d.Post.AddContactPoint(ctx, cp)
}

// ContactPoints lists a sender's contact points.
func (d *Desk) ContactPoints(ctx context.Context, sender string) ([]citizenpost.ContactPoint, error) {
	return d.Post.ContactPoints(ctx, sender)
}

// RemoveContactPoint stops a contact point taking new post (citizenpost.ErrNotFound: none
// such). When it was the sender's default for replies, the default becomes the sender as a
// whole; letters already sent keep sending their replies to it, under its name.
func (d *Desk) RemoveContactPoint(ctx context.Context, sender, id string) error {
	if err := d.Post.RemoveContactPoint(ctx, sender, id); err != nil {
		return err
	}
	s, err := d.Registry.Sender(ctx, sender)
	if err != nil || s.Replies.ContactPoint != id {
		return err
	}
	s.Replies.ContactPoint = ""
	return d.Registry.SetReplyDefaults(ctx, sender, s.Replies)
}

// SetReplyDefaults sets what a sender's letters say about replies when a letter does not: the
// contact point must be one of the sender's.
func (d *Desk) SetReplyDefaults(ctx context.Context, sender string, r registry.ReplyDefaults) error {
	if r.ContactPoint != "" {
		if _, err := d.Post.ContactPoint(ctx, sender, r.ContactPoint); errors.Is(err, citizenpost.ErrNotFound) {
			return &fielderr.Error{Field: "contact-point", Rule: fmt.Sprintf("%q is not one of the sender's contact points", r.ContactPoint)}
		} else if err != nil {
			return err
		}
	}
	return d.Registry.SetReplyDefaults(ctx, sender, r)
}

// AddCitizen registers a citizen, with the registry's rules.
func (d *Desk) AddCitizen(ctx context.Context, in registry.NewCitizen) (registry.Citizen, error) {
	return d.Registry.AddCitizen(ctx, in)
}

// PurgeDeceased deletes the mailboxes of citizens who died before the given time, as the
// retention rule allows; it answers how many.
func (d *Desk) PurgeDeceased(ctx context.Context, diedBefore time.Time) (int64, error) {
	return d.Registry.PurgeDeceased(ctx, diedBefore)
}

// AddSender registers a sender (an authority that sends letters).
func (d *Desk) AddSender(ctx context.Context, s registry.Sender) error {
	return d.Registry.AddSender(ctx, s)
}

// CreateKey makes an API key for a sender and answers its secret, shown once.
func (d *Desk) CreateKey(ctx context.Context, sender string) (apikeys.Key, string, error) {
	return d.Keys.Create(ctx, sender)
}

// KeysOf lists a sender's API keys, revoked ones included, without their secrets.
func (d *Desk) KeysOf(ctx context.Context, sender string) ([]apikeys.Key, error) {
	return d.Keys.List(ctx, sender)
}

// RevokeKey ends a sender's API key (apikeys.ErrNotFound: not one of theirs).
func (d *Desk) RevokeKey(ctx context.Context, sender, id string) error {
	return d.Keys.Revoke(ctx, sender, id)
}

// StuckNotices are the notices that need an operator: unknown outcomes, and providers
// failing for longer than olderThan.
func (d *Desk) StuckNotices(ctx context.Context, olderThan time.Duration, limit int) ([]notify.Record, error) {
	return d.Notices.Stuck(ctx, olderThan, limit)
}

// ResolveNotice settles a notice of unknown outcome as the provider's own log shows it.
func (d *Desk) ResolveNotice(ctx context.Context, letter uuid.UUID, ch notify.Channel, sent bool, operator string) error {
	return d.Notices.Resolve(ctx, letter, ch, notify.NewPost, sent, operator)
}

// Outbox is the dev outbox's newest notices (the dev runtime records them instead of
// sending when no provider credentials are set).
func (d *Desk) Outbox(ctx context.Context, limit int) ([]notify.OutboxEntry, error) {
	return notify.NewOutbox(d.db).Recent(ctx, limit)
}

// GeneratePopulation writes a generated population with a history of letters, for the
// statistics and the bench.
func (d *Desk) GeneratePopulation(ctx context.Context, o population.Options) (population.Result, error) {
	return population.Generate(ctx, d.db, o)
}
