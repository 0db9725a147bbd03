package devenv

import (
	"context"

	"github.com/google/uuid"

	"digitalpost/internal/domain/apikeys"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/store"
)

// The dev runtime's shortcuts for the command line's demo: beside `worker -dev` a newcomer
// runs the README's commands with nothing to configure, so the command line may make a
// sender's API key, and find a letter's sender, in the dev database. Only there: with a
// system of its own the command line is a client of the API and nothing else.

// NewSenderKey makes an API key for a sender in the dev runtime's database and answers its
// secret.
func NewSenderKey(ctx context.Context, databaseURL, sender string) (string, error) {
	db, err := store.Open(ctx, databaseURL, 1)
	if err != nil {
		return "", err
	}
	defer db.Close()
	_, secret, err := apikeys.New(db).Create(ctx, sender)
	return secret, err
}

// LetterSender is the sender of a letter in the dev runtime's database
// (letters.ErrNotFound: no such letter).
func LetterSender(ctx context.Context, databaseURL string, letterID uuid.UUID) (string, error) {
	db, err := store.Open(ctx, databaseURL, 1)
	if err != nil {
		return "", err
	}
	defer db.Close()
	l, err := letters.NewStore(db).Get(ctx, letterID)
	return l.SenderID, err
}
